"""Small charts drawn as inline SVG on the server: no scripts, no external
files. Colours come from CSS classes (``static/support.css``) that use the
site's colour variables, so charts follow light and dark mode; every shape
also says ``fill="currentColor"`` so a chart stays readable without the CSS.
Text is escaped here (labels may be user data) and drawn in the page's font,
so Korean renders like the rest of the page. Each chart has a <title> and
<desc> for screen readers; pages also show the numbers as a table.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str = ""


@dataclass(frozen=True)
class Part:
    label: str
    value: float
    css_class: str


@dataclass(frozen=True)
class Range:
    """A measure with two values, drawn as a short bar inside a longer one."""

    label: str
    low: float | None
    high: float | None


def nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def text_width(text: str) -> float:
    """A rough width in viewBox units: Hangul and other wide characters take
    about twice the room of Latin letters."""
    return sum(12.5 if ord(ch) > 0x2E80 else 7.0 for ch in text)


def _svg(height: int, title: str, description: str, body: list[str], css_class: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-{n}-title chart-{n}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-title">{escape(title)}</title><desc id="chart-{n}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", css_class: str = "chart-text") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css_class}" fill="currentColor">'
        f"{escape(text)}</text>"
    )


def column_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    value_format: Callable[[float], str] = lambda v: f"{v:g}",
    height: int = 240,
) -> Markup:
    """Vertical bars (one per bucket), a value axis with three gridlines and
    as many category labels as fit."""
    left, right, top, bottom = 48, 8, 12, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = nice_ceiling(max((b.value for b in bars), default=0))
    body: list[str] = []
    for i in range(3):
        value = top_value * i / 2
        y = top + plot_h - plot_h * i / 2
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" class="chart-grid" '
            f'stroke="currentColor" stroke-opacity="0.2"/>'
        )
        body.append(_text(left - 6, y + 4, value_format(value), anchor="end", css_class="chart-text chart-muted"))
    if bars:
        slot = plot_w / len(bars)
        gap = min(4.0, slot * 0.2)
        label_every = max(1, math.ceil(len(bars) * 56 / plot_w))
        for i, bar in enumerate(bars):
            h = plot_h * (bar.value / top_value) if top_value else 0
            x = left + i * slot + gap / 2
            y = top + plot_h - h
            tooltip = bar.tooltip or f"{bar.label}: {value_format(bar.value)}"
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - gap, 1):.1f}" height="{h:.1f}" class="chart-bar" '
                f'fill="currentColor"><title>{escape(tooltip)}</title></rect>'
            )
            if i % label_every == 0:
                body.append(_text(x + (slot - gap) / 2, height - bottom + 16, bar.label, anchor="middle"))
    return _svg(height, title, description, body, "chart-columns")


def share_bar(
    parts: Sequence[Part],
    *,
    title: str,
    description: str,
    value_format: Callable[[float], str] = lambda v: f"{v:g}",
) -> Markup:
    """One bar split into shares, with a legend that gives each share in words."""
    height = 84
    total = sum(p.value for p in parts)
    body: list[str] = []
    x = 0.0
    if total > 0:
        for part in parts:
            w = WIDTH * part.value / total
            body.append(
                f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="28" class="{escape(part.css_class)}" '
                f'fill="currentColor"><title>{escape(part.label)}: {escape(value_format(part.value))}</title></rect>'
            )
            x += w
    else:
        body.append(
            f'<rect x="0" y="4" width="{WIDTH}" height="28" class="chart-empty" '
            'fill="currentColor" fill-opacity="0.1"/>'
        )
    legend_x = 0.0
    for part in parts:
        share = f" {part.value / total:.0%}" if total else ""
        body.append(
            f'<rect x="{legend_x:.1f}" y="50" width="12" height="12" class="{escape(part.css_class)}" '
            f'fill="currentColor"/>'
        )
        label = f"{part.label}: {value_format(part.value)}{share}"
        body.append(_text(legend_x + 18, 61, label))
        legend_x += 18 + text_width(label) + 24
    return _svg(height, title, description, body, "chart-share")


def range_chart(
    rows: Sequence[Range],
    *,
    title: str,
    description: str,
    low_label: str,
    high_label: str,
    value_format: Callable[[float], str],
    log_from: float | None = None,
) -> Markup:
    """For each measure, a bar to the high value (say the 90th percentile)
    with a stronger bar to the low one (the median) drawn over it.

    ``log_from``: lengths on a logarithmic scale starting at that value (say
    one minute, for durations): one slow case of two weeks then leaves a
    two-hour median a readable bar instead of a pixel. The values are written
    beside each bar either way."""
    label_w, right, row_h, top = 170, 190, 34, 28
    height = top + row_h * len(rows) + 8
    plot_w = WIDTH - label_w - right
    top_value = max((r.high or r.low or 0 for r in rows), default=0) or 1

    def length(value: float) -> float:
        if log_from is None or top_value <= log_from:
            return plot_w * value / top_value
        if value <= log_from:
            return 0.0
        return plot_w * math.log(value / log_from) / math.log(top_value / log_from)

    body = [
        f'<rect x="{label_w}" y="6" width="12" height="12" class="chart-bar" fill="currentColor"/>',
        _text(label_w + 18, 16, low_label),
        f'<rect x="{label_w + 150}" y="6" width="12" height="12" class="chart-bar-soft" fill="currentColor" '
        'fill-opacity="0.35"/>',
        _text(label_w + 168, 16, high_label),
    ]
    for i, row in enumerate(rows):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + 17, row.label, anchor="end"))
        if row.high is not None:
            w = length(row.high)
            body.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="18" class="chart-bar-soft" '
                f'fill="currentColor" fill-opacity="0.35"><title>{escape(high_label)}: '
                f"{escape(value_format(row.high))}</title></rect>"
            )
        if row.low is not None:
            w = length(row.low)
            body.append(
                f'<rect x="{label_w}" y="{y + 8}" width="{max(w, 1):.1f}" height="10" class="chart-bar" '
                f'fill="currentColor"><title>{escape(low_label)}: {escape(value_format(row.low))}</title></rect>'
            )
        summary = " / ".join(value_format(v) if v is not None else "–" for v in (row.low, row.high))
        # In a column of its own on the right, so long values never run off the chart.
        body.append(_text(label_w + plot_w + 10, y + 17, summary, css_class="chart-text chart-muted"))
    return _svg(height, title, description, body, "chart-ranges")
