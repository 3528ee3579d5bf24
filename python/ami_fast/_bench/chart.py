"""A horizontal bar chart as hand-written SVG (log-scale x axis), so no plotting dependency."""

from __future__ import annotations

import math
from html import escape

__all__ = ["Bar", "bar_chart"]

Bar = tuple[str, str, float]  # (row label, series name, value)

_COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#c53030"]


def _fmt(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def _fmt_axis(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def bar_chart(bars: list[Bar], *, title: str, subtitle: str = "", unit: str = "messages/s") -> str:
    """Rows in the order first seen; within a row one bar per series, on a shared log axis."""
    rows: list[str] = []
    series: list[str] = []
    for row, name, _ in bars:
        if row not in rows:
            rows.append(row)
        if name not in series:
            series.append(name)
    values = [v for _, _, v in bars if v > 0]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 1.0
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 10.0
    if hi <= lo:
        hi = lo * 10

    left, right, top, bar_h, gap = 190, 90, 84, 16, 14
    width = 860
    plot_w = width - left - right
    lookup = {(row, name): value for row, name, value in bars if value > 0}
    # Each row gets a slot only for the series it has, so single-bar rows stay compact.
    present = {row: [name for name in series if (row, name) in lookup] for row in rows}
    row_tops: list[float] = []
    y_cursor: float = top
    for row in rows:
        row_tops.append(y_cursor)
        y_cursor += bar_h * max(1, len(present[row])) + gap
    height = int(y_cursor) + 50

    def x(value: float) -> float:
        span = math.log10(hi) - math.log10(lo)
        return left + plot_w * (math.log10(max(value, lo)) - math.log10(lo)) / span

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{left}" y="42" fill="#555">{escape(subtitle)}</text>')
    # Decade grid lines with labels.
    decade = lo
    while decade <= hi * 1.0001:
        gx = x(decade)
        out.append(f'<line x1="{gx:.1f}" y1="{top - 8}" x2="{gx:.1f}" y2="{height - 45}" stroke="#ddd"/>')
        label = _fmt_axis(decade)
        out.append(f'<text x="{gx:.1f}" y="{height - 30}" text-anchor="middle" fill="#555">{label}</text>')
        decade *= 10
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle" fill="#333">'
        f"{escape(unit)} (log scale, higher is better)</text>"
    )
    for row, y0 in zip(rows, row_tops, strict=True):
        names = present[row]
        out.append(
            f'<text x="{left - 8}" y="{y0 + bar_h * max(1, len(names)) / 2 + 2:.1f}" '
            f'text-anchor="end" fill="#222">{escape(row)}</text>'
        )
        for slot, name in enumerate(names):
            value = lookup[(row, name)]
            y = y0 + slot * bar_h
            colour = _COLOURS[series.index(name) % len(_COLOURS)]
            out.append(
                f'<rect x="{left}" y="{y}" width="{max(1.0, x(value) - left):.1f}" height="{bar_h - 3}" '
                f'fill="{colour}"><title>{escape(row)} / {escape(name)}: {value:,.0f}</title></rect>'
            )
            out.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar_h - 6}" fill="#222">{_fmt(value)}</text>')
    # Legend.
    for s, name in enumerate(series):
        lx = left + s * 200
        colour = _COLOURS[s % len(_COLOURS)]
        out.append(f'<rect x="{lx}" y="{top - 30}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{top - 20}" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
