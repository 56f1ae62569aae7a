"""The morning report as plain data: what ``build_report`` (review.reports.report) fills in and
``render_html`` (review.reports.render) and the notifications (review.reports.notify) draw, with
its JSON and CSV forms."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from review.sampling.stats import Estimate, Kappa

CALL_COLUMNS = ("call_id", "started_at", "agent_id", "team", "duration_s", "status", "flagged", "findings",
                "max_severity", "rules", "review_kind", "review_status", "outcome", "overdue")


@dataclass
class Report:
    since: datetime
    until: datetime
    generated_at: datetime
    calls: int
    calls_by_status: dict[str, int]
    audio_hours: float
    flagged: int
    sampled: int
    reviewed: int
    by_severity: dict[str, dict[str, int]]
    by_rule: list[dict[str, Any]]
    by_agent: list[dict[str, Any]]
    by_team: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    violation_rate: Estimate
    miss_rate: Estimate
    rule_precision: dict[str, Estimate]
    kappa: Kappa
    coverage: dict[str, int]
    failures: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per call: the CSV, not the JSON
    # scorecards (review.scorecard.records): scored calls, mean score and pass rate per agent and per team
    scores_by_agent: list[dict[str, Any]] = field(default_factory=list)
    scores_by_team: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"since": self.since.isoformat(), "until": self.until.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "calls": self.calls, "calls_by_status": self.calls_by_status,
            "audio_hours": round(self.audio_hours, 3), "flagged": self.flagged, "sampled": self.sampled,
            "reviewed": self.reviewed, "by_severity": self.by_severity, "by_rule": self.by_rule,
            "by_agent": self.by_agent, "by_team": self.by_team, "overdue": self.overdue,
            "violation_rate": self.violation_rate.as_dict(), "miss_rate": self.miss_rate.as_dict(),
            "rule_precision": {k: v.as_dict() for k, v in self.rule_precision.items()},
            "kappa": self.kappa.as_dict(), "coverage": self.coverage,
            "failures": self.failures, "notes": self.notes,
            "scorecards": {"by_agent": self.scores_by_agent, "by_team": self.scores_by_team},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def rows_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CALL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buf.getvalue()

    def summary_csv(self) -> str:
        """The aggregates in long form (section, key, metric, value), for spreadsheets."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("section", "key", "metric", "value"))
        for metric in ("calls", "audio_hours", "flagged", "sampled", "reviewed"):
            writer.writerow(("totals", "", metric, self.to_dict()[metric]))
        for sev, counts in self.by_severity.items():
            for metric, value in counts.items():
                writer.writerow(("severity", sev, metric, value))
        for section, rows, key in (("rule", self.by_rule, "rule_id"), ("agent", self.by_agent, "agent_id"),
                                   ("team", self.by_team, "team"), ("score_agent", self.scores_by_agent, "agent_id"),
                                   ("score_team", self.scores_by_team, "team")):
            for row in rows:
                for metric, value in row.items():
                    if metric != key:
                        writer.writerow((section, row[key], metric, value))
        estimates = {"violation_rate": self.violation_rate.as_dict(), "miss_rate": self.miss_rate.as_dict(),
                     "kappa": self.kappa.as_dict()}
        estimates.update({f"rule_precision:{k}": v.as_dict() for k, v in self.rule_precision.items()})
        for name, values in estimates.items():
            for metric, value in values.items():
                writer.writerow(("estimate", name, metric, value))
        return buf.getvalue()
