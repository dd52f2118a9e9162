"""Small SVG charts drawn on the server for the pages: horizontal bars and step curves with a CI band.

No script and no inline style (the CSP allows neither): colours are presentation attributes or CSS
classes, and every bar and step carries a `<title>` with its numbers (the browser's own tooltip).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "Curve", "bar_chart", "step_chart"]

MAX_HOVER_POINTS = 60
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    title: str
    colour: str = PALETTE[0]


@dataclass(frozen=True)
class Curve:
    """A right-continuous step function: `values[i]` holds from `times[i]` (the first time is 0)."""

    label: str
    times: Sequence[float]
    values: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None
    colour: str = PALETTE[0]


def bar_chart(bars: Sequence[Bar], *, width: int = 460, label_width: int = 170, unit: str = "") -> Markup:
    """Horizontal bars, one row each, scaled to the largest value; the value written after each bar."""
    row = 22
    height = row * max(len(bars), 1) + 6
    largest = max((b.value for b in bars), default=0) or 1
    plot = width - label_width - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" font-family="DejaVu Sans, sans-serif" font-size="11">'
    ]
    for index, bar in enumerate(bars):
        y = 3 + index * row
        length = plot * bar.value / largest
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 0.5):.1f}" height="{row - 8}" '
            f'fill="{bar.colour}">'
            f"<title>{escape(bar.title)}</title></rect>"
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}">{bar.value:g}{escape(unit)}</text>'
        )
    if not bars:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle">none</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _steps(
    times: Sequence[float], values: Sequence[float], x: Callable[[float], float], y: Callable[[float], float]
) -> str:
    """The step path's points; steps that fall in the same pixel column are drawn as one (a large cohort has
    thousands of event times, which a few hundred pixels cannot show apart)."""
    columns: dict[float, tuple[float, float]] = {}  # pixel column -> (value on entering, value on leaving)
    previous: float | None = None
    for time, value in zip(times, values):
        column = float(round(x(time)))
        entering = columns[column][0] if column in columns else (value if previous is None else previous)
        columns[column] = (entering, value)
        previous = value
    points: list[str] = []
    for column, (entering, leaving) in columns.items():
        points.append(f"{column:.1f},{y(entering):.1f}")
        if leaving != entering:
            points.append(f"{column:.1f},{y(leaving):.1f}")
    return " ".join(points)


def step_chart(
    curves: Sequence[Curve],
    *,
    x_label: str,
    y_label: str,
    width: int = 460,
    height: int = 260,
    percent: bool = True,
) -> Markup:
    """Step curves on [0, max time] x [0, 1], each with its confidence band; hover titles at each step."""
    left, right, top, bottom = 48, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    horizon = max((max(c.times) for c in curves if len(c.times)), default=1.0) or 1.0

    def x(t: float) -> float:
        return left + plot_w * t / horizon

    def y(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick * 100 if percent else tick:g}'
            f"{'%' if percent else ''}</text>"
        )
    step = _nice_step(horizon)
    tick = 0.0
    while tick <= horizon + 1e-9:
        parts.append(f'<text x="{x(tick):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{tick:g}</text>')
        tick += step
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 12 {top + plot_h / 2})">'
        f"{escape(y_label)}</text>"
    )
    for curve in curves:
        if not len(curve.times):
            continue
        if curve.lower is not None and curve.upper is not None:
            upper = _steps(curve.times, curve.upper, x, y)
            lower_points = _steps(curve.times, curve.lower, x, y).split(" ")
            band = upper + " " + " ".join(reversed(lower_points))
            parts.append(f'<polygon points="{band}" fill="{curve.colour}" class="band"/>')
        parts.append(
            f'<polyline points="{_steps(curve.times, curve.values, x, y)}" fill="none" stroke="{curve.colour}" '
            'stroke-width="1.8"/>'
        )
        every = max(1, len(curve.times) // MAX_HOVER_POINTS)  # a large cohort: every k-th step has a title
        for index, (time, value) in enumerate(zip(curve.times, curve.values)):
            if index == 0 or (index % every and index != len(curve.times) - 1):
                continue
            ci = ""
            if curve.lower is not None and curve.upper is not None:
                ci = f" (95% CI {100 * curve.lower[index]:.1f}% to {100 * curve.upper[index]:.1f}%)"
            parts.append(
                f'<circle cx="{x(time):.1f}" cy="{y(value):.1f}" r="3" class="step" fill="{curve.colour}">'
                f"<title>{escape(curve.label)}: {100 * value:.1f}%{ci} at {time:.1f} months</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(horizon: float) -> float:
    for candidate in (1, 2, 3, 6, 12, 24, 36, 60, 120):
        if horizon / candidate <= 8:
            return float(candidate)
    return horizon / 8
