"""The dashboard: the morning report's figures over time with their intervals, queue health, CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callqa.dates import site_zone
from callqa.errors import CallQAError
from review.store.models import User
from review.web import dashboard_view as dv
from review.web.chart_svg import chart
from review.web.deps import db, form_date, render, require, state_of
from review.web.queue_view import filter_options

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "compliance")


def _filter(request: Request, date_from: str, date_to: str, bucket: str, team: str, agent: str,
            rule: str) -> dv.DashboardFilter:
    today = datetime.now(UTC).astimezone(site_zone(state_of(request).settings)).date()
    f = dv.default_filter(today)
    f.date_from = form_date(date_from, "date_from") or f.date_from
    f.date_to = form_date(date_to, "date_to") or f.date_to
    if f.date_to < f.date_from:
        raise CallQAError(f"date_to {f.date_to} is before date_from {f.date_from}; swap them")
    f.bucket = bucket if bucket in dv.BUCKETS else "day"
    f.team, f.agent, f.rule = team.strip(), agent.strip(), rule.strip()
    return f


def _view(request: Request, session: Session, f: dv.DashboardFilter) -> dv.DashboardView:
    return dv.build_dashboard(session, f, site_zone(state_of(request).settings), datetime.now(UTC))


@router.get("/dashboard")
def dashboard(request: Request, date_from: str = "", date_to: str = "", bucket: str = "day", team: str = "",
              agent: str = "", rule: str = "", user: User = Depends(require(*ROLES)),
              session: Session = Depends(db, scope="function")) -> Response:
    f = _filter(request, date_from, date_to, bucket, team, agent, rule)
    view = _view(request, session, f)
    days = [start for start, _ in view.periods]
    charts = {}
    for metric in dv.METRICS:
        series = [(r.estimate, r.ci_low, r.ci_high) for r in view.series(metric)]
        kappa = metric == "reviewer_agreement"
        charts[metric] = chart(days, series, lower=0.0, percent=not kappa)
    return render(request, "dashboard.html", {"v": view, "f": f, "charts": charts, "metrics": dv.METRICS,
                                              "buckets": dv.BUCKETS, "options": filter_options(session),
                                              "csv_args": f.query_args()})


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, date_from: str = "", date_to: str = "", bucket: str = "day", team: str = "",
                  agent: str = "", rule: str = "", user: User = Depends(require(*ROLES)),
                  session: Session = Depends(db, scope="function")) -> Response:
    f = _filter(request, date_from, date_to, bucket, team, agent, rule)
    name = f"dashboard-{f.date_from.isoformat()}-{f.date_to.isoformat()}.csv"
    return Response(_view(request, session, f).csv(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
