"""Small server-side SVG charts (bars, lines, a target line) for the status page and the report. Pure.

Hand-built rather than a plotting library: four simple charts, no script, no font or asset from elsewhere,
and every text escaped. Each data point is an element of class ``bar`` or ``point`` (with a ``<title>``
giving its value), so a reader hovering sees the figure and a test can count what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

PALETTE = ("#2f6db3", "#e07b24", "#3a9b5c", "#9b4dca", "#c23b4b", "#5b6670")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per label; None: no figure for that label
    kind: Literal["bar", "line"] = "bar"


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 4, 8 × 10^k not below ``value`` (at least 1): quarters that read well."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2g}" if abs(
        value) < 1 else f"{value:.1f}"


def chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
          target: float | None = None, target_label: str = "target", y_max: float | None = None,
          width: int = 560, height: int = 250) -> str:
    """An SVG chart: bar series side by side per label, line series over them, an optional dashed target."""
    left, right, top, bottom = 46, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    top_value = y_max if y_max is not None else _nice_max(max([*values, target or 0.0, 0.0]))
    n = max(1, len(labels))
    slot = plot_w / n

    def y(value: float) -> float:
        return top + plot_h - plot_h * min(value, top_value) / top_value

    def x(index: int) -> float:
        return left + slot * (index + 0.5)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">',
             f"<title>{escape(title)}</title>"]
    for step in range(5):  # grid and the y axis
        tick = top_value * step / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#e3e7eb"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'fill="#5b6670">{escape(_fmt(tick))}{escape(unit)}</text>')
    every = max(1, math.ceil(n / 10))
    for index, label in enumerate(labels):
        if index % every == 0 or index == n - 1:
            parts.append(f'<text x="{x(index):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'fill="#5b6670">{escape(label)}</text>')
    bars = [s for s in series if s.kind == "bar"]
    bar_w = slot * 0.8 / max(1, len(bars))
    for number, s in enumerate(series):
        color = PALETTE[number % len(PALETTE)]
        if s.kind == "bar":
            offset = bars.index(s)
            for index, value in enumerate(s.values):
                if value is None:
                    continue
                bx = left + slot * index + slot * 0.1 + bar_w * offset
                parts.append(f'<rect class="bar" x="{bx:.1f}" y="{y(value):.1f}" width="{max(bar_w - 1, 1):.1f}" '
                             f'height="{max(y(0) - y(value), 0):.1f}" fill="{color}"><title>{escape(labels[index])}: '
                             f'{escape(_fmt(value))}{escape(unit)} ({escape(s.name)})</title></rect>')
        else:
            points = [(x(i), y(v), v, i) for i, v in enumerate(s.values) if v is not None]
            if len(points) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _v, _i in points)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            for px, py, point, index in points:
                parts.append(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"><title>'
                             f'{escape(labels[index])}: {escape(_fmt(point))}{escape(unit)} ({escape(s.name)})'
                             f"</title></circle>")
    if target is not None:
        parts.append(f'<line class="target" x1="{left}" x2="{width - right}" y1="{y(target):.1f}" '
                     f'y2="{y(target):.1f}" stroke="#c23b4b" stroke-dasharray="6 4" stroke-width="1.5"/>'
                     f'<text x="{width - right}" y="{y(target) - 4:.1f}" text-anchor="end" fill="#c23b4b">'
                     f"{escape(target_label)} {escape(_fmt(target))}{escape(unit)}</text>")
    legend_x = left
    for number, s in enumerate(series):  # the legend, above the plot
        color = PALETTE[number % len(PALETTE)]
        parts.append(f'<rect x="{legend_x}" y="8" width="10" height="10" fill="{color}"/>'
                     f'<text x="{legend_x + 14}" y="17">{escape(s.name)}</text>')
        legend_x += 24 + 7 * len(s.name)
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#8a949e"/>')
    parts.append("</svg>")
    return "".join(parts)
