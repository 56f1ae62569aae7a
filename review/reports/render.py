"""HTML rendering of the morning report: Jinja2 template plus matplotlib (Agg) charts as PNG."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import jinja2

from review.reports.model import Report
from review.sampling.stats import Estimate

TEMPLATES = Path(__file__).with_name("templates")
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
              "Microsoft YaHei", "PingFang SC", "Source Han Sans SC")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.2f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _fonts() -> list[str]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    # agent names and rule titles may be Chinese: use a CJK font when the machine has one
    return [name for name in _CJK_FONTS if name in installed] + ["DejaVu Sans"]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _charts(report: Report) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    charts: dict[str, str] = {}
    with plt.rc_context({"font.sans-serif": _fonts(), "font.family": "sans-serif",
                         "axes.unicode_minus": False}):
        rules = report.by_rule[:15]
        if rules:
            fig = Figure(figsize=(7, 0.35 * len(rules) + 1.2))
            ax = fig.subplots()
            names = [r["rule_id"] for r in rules][::-1]
            ax.barh(names, [r["confirmed"] for r in rules][::-1], color="#c0392b", label="confirmed")
            ax.barh(names, [r["false_positive"] for r in rules][::-1],
                    left=[r["confirmed"] for r in rules][::-1], color="#95a5a6", label="false positive")
            ax.barh(names, [r["undecided"] for r in rules][::-1],
                    left=[r["confirmed"] + r["false_positive"] for r in rules][::-1], color="#f1c40f",
                    label="undecided")
            ax.set_xlabel("findings")
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
            charts["rules"] = _png(fig)
        agents = sorted(report.by_agent, key=lambda a: -a["calls"])[:20]
        if agents:
            fig = Figure(figsize=(7, 0.3 * len(agents) + 1.2))
            ax = fig.subplots()
            names = [a["agent_id"] for a in agents][::-1]
            ax.barh(names, [a["calls"] for a in agents][::-1], color="#3498db", label="calls")
            ax.barh(names, [a["flagged"] for a in agents][::-1], color="#e67e22", label="flagged")
            ax.set_xlabel("calls")
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
            charts["agents"] = _png(fig)
        shown = [(name, e) for name, e in _estimates(report) if e.estimate is not None]
        if shown:
            fig = Figure(figsize=(7, 0.35 * len(shown) + 1.2))
            ax = fig.subplots()
            ys = list(range(len(shown)))
            est = [100 * float(e.estimate or 0.0) for _, e in shown]
            lows = [100 * float(e.estimate or 0.0) - 100 * float(e.ci_low or 0.0) for _, e in shown]
            highs = [100 * float(e.ci_high or 0.0) - 100 * float(e.estimate or 0.0) for _, e in shown]
            ax.errorbar(est, ys, xerr=[lows, highs], fmt="o", capsize=4, color="#2c3e50")
            ax.set_yticks(ys, [name for name, _ in shown])
            ax.invert_yaxis()
            ax.set_xlabel("percent, with 95% interval")
            charts["estimates"] = _png(fig)
    return charts


def _estimates(report: Report) -> list[tuple[str, Estimate]]:
    rows = [("Violation rate (all calls)", report.violation_rate),
            ("Miss rate (unflagged calls)", report.miss_rate)]
    rows += [(f"Precision {rule}", e) for rule, e in sorted(report.rule_precision.items())]
    return rows


def render_html(report: Report) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    template = env.get_template("report.html")
    return template.render(r=report, charts=_charts(report), estimates=_estimates(report), pct=_pct, num=_num)
