"""Geometry of the dashboard's interval charts, drawn as inline SVG by dashboard.html.

No script and no chart library: the page works offline. Each period is a point with a vertical
bar for its confidence interval. Axis labels never overlap: period labels are thinned to every
k-th so that each has at least LABEL_PX of room, and the value ticks are a fixed few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
LABEL_PX = 46  # "11-30" at the chart's font size, with a gap


@dataclass(frozen=True)
class Point:
    x: float
    y: float | None  # None: no estimate for the period (nothing reviewed)
    low: float | None
    high: float | None
    title: str  # the figure in words, shown on hover


@dataclass(frozen=True)
class Tick:
    pos: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    points: list[Point]
    x_labels: list[Tick]
    y_ticks: list[Tick]
    path: str  # polyline through the defined points


def chart(days: list[date], values: list[tuple[float | None, float | None, float | None]],
          lower: float = 0.0, upper: float = 1.0, percent: bool = True) -> Chart:
    """Points at even steps over the periods; values on [lower, upper] (kappa may go below 0)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lows = [v for _, lo, _ in values for v in (lo,) if v is not None]
    if lows and min(lows) < lower:
        lower = math.floor(min(lows) * 4) / 4
    span = upper - lower or 1.0
    step = plot_w / max(1, len(days))

    def y_of(v: float | None) -> float | None:
        return None if v is None else round(TOP + plot_h * (upper - max(lower, min(upper, v))) / span, 1)

    def fmt(v: float | None) -> str:
        return "-" if v is None else (f"{100 * v:.1f}%" if percent else f"{v:.2f}")

    points = []
    for i, (day, (est, low, high)) in enumerate(zip(days, values, strict=True)):
        x = round(LEFT + step * (i + 0.5), 1)
        points.append(Point(x, y_of(est), y_of(low), y_of(high),
                            f"{day.isoformat()}: {fmt(est)} [{fmt(low)}, {fmt(high)}]"))
    every = max(1, math.ceil(LABEL_PX / step))
    x_labels = [Tick(p.x, d.strftime("%m-%d")) for i, (d, p) in enumerate(zip(days, points, strict=True))
                if i % every == 0]
    y_ticks = []
    for k in range(5):
        v = lower + span * k / 4
        y_ticks.append(Tick(y_of(v) or 0.0, f"{100 * v:.0f}%" if percent else f"{v:.2f}"))
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in
                    enumerate(p for p in points if p.y is not None))
    return Chart(WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h, points, x_labels, y_ticks, path)
