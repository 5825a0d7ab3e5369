"""Line charts as inline SVG, written here: no script, no library, nothing fetched at view time.

A chart is one ``<svg>`` element with its axes, grid, one ``<polyline>`` per series
(broken where a figure is missing), dashed horizontal lines for limits and red
vertical lines for verdicts. Every element carries a class (``series``, ``limit``,
``verdict``...) and the series a ``data-series`` name, so a test can find them in the
page the browser built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from extraction_lint.guardrails.units import format_duration

WIDTH, HEIGHT = 920, 230
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 78, 18, 26, 34
MAX_POINTS = 1500
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")

Number = float | int
Formatter = Callable[[float], str]


@dataclass
class Series:
    """One line: ``(x, y)`` points, ``y`` ``None`` where the figure is missing."""

    name: str
    points: list[tuple[float, float | None]]
    colour: str = ""
    dashed: bool = False


@dataclass
class Marker:
    """A vertical line at ``x`` (a verdict) with a short label."""

    x: float
    label: str
    title: str


@dataclass
class Chart:
    """A chart's content."""

    key: str
    title: str
    series: list[Series]
    y_format: Formatter
    limits: list[tuple[str, float]] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    y_unit: str = ""


def nice_step(span: float, target: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts ``span`` into about ``target`` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def byte_ticks(top: float, target: int = 5) -> tuple[list[float], float, str]:
    """Tick values for a byte axis up to ``top``: steps that are round in the unit shown."""
    unit, scale = "B", 1.0
    for name, factor in (
        ("KiB", 1024.0),
        ("MiB", 1024.0**2),
        ("GiB", 1024.0**3),
        ("TiB", 1024.0**4),
    ):
        # Under two of a unit, ticks are round in the unit below (0, 200, ... 1,000 B).
        if top >= 2 * factor:
            unit, scale = name, factor
    step = nice_step(top / scale, target) * scale
    return _ticks(top, step), scale, unit


def time_step(span: float) -> float:
    """A round step in seconds, minutes or hours for a time axis ``span`` long."""
    for step in (
        0.1,
        0.2,
        0.5,
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
    ):
        if span / step <= 8:
            return float(step)
    return nice_step(span / 86400, 8) * 86400


def _ticks(top: float, step: float) -> list[float]:
    count = math.floor(top / step + 1e-9)
    return [i * step for i in range(count + 1)]


def _thin(points: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """At most :data:`MAX_POINTS` points, keeping each bucket's highest value (peaks matter)."""
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / MAX_POINTS)
    thinned: list[tuple[float, float | None]] = []
    for start in range(0, len(points), size):
        bucket = points[start : start + size]
        values = [p for p in bucket if p[1] is not None]
        thinned.append(max(values, key=lambda p: p[1] or 0.0) if values else bucket[0])
    return thinned


def render(chart: Chart, x_end: float) -> str:
    """The chart as an ``<svg>`` element."""
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    values = [y for s in chart.series for _, y in s.points if y is not None]
    values += [value for _, value in chart.limits]
    top = max(values, default=0.0)
    floor = 1024.0 if chart.y_unit == "bytes" else 1.0
    top = max(top * 1.08, floor)
    x_end = max(x_end, 1e-6)

    def sx(x: float) -> float:
        return MARGIN_LEFT + plot_w * min(max(x / x_end, 0.0), 1.0)

    def sy(y: float) -> float:
        return MARGIN_TOP + plot_h * (1.0 - min(max(y / top, 0.0), 1.0))

    out: list[str] = [
        f'<svg class="chart" data-chart="{escape(chart.key)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}">',
        f'<rect class="plot-area" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" '
        f'height="{plot_h}" fill="#fcfcfd" stroke="#d0d4da"/>',
    ]
    # y axis: grid lines and labels.
    if chart.y_unit == "bytes":
        ticks, _, _ = byte_ticks(top)
    else:
        ticks = _ticks(top, nice_step(top))
    for tick in ticks:
        y = sy(tick)
        out.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#e6e8ec"/>'
        )
        out.append(
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(chart.y_format(tick))}</text>"
        )
    # x axis: time since the start.
    step = time_step(x_end)
    for tick in _ticks(x_end, step):
        x = sx(tick)
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" '
            f'y2="{MARGIN_TOP + plot_h}" stroke="#eef0f3"/>'
        )
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(format_duration(tick) if tick else "0")}</text>'
        )
    out.append(
        f'<text class="axis-title" x="{MARGIN_LEFT + plot_w}" y="{HEIGHT - 4}" '
        f'text-anchor="end">time since start</text>'
    )
    for name, value in chart.limits:
        y = sy(value)
        out.append(
            f'<line class="limit" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4">'
            f"<title>{escape(name)}: {escape(chart.y_format(value))}</title></line>"
        )
        out.append(
            f'<text class="limit-label" x="{MARGIN_LEFT + 6}" y="{y - 5:.1f}" fill="#d62728">'
            f"{escape(name)} {escape(chart.y_format(value))}</text>"
        )
    for index, series in enumerate(chart.series):
        colour = series.colour or PALETTE[index % len(PALETTE)]
        dash = ' stroke-dasharray="4 3"' if series.dashed else ""
        for segment in _segments(_thin(series.points)):
            coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in segment)
            if len(segment) == 1:
                x, y = segment[0]
                out.append(
                    f'<circle class="series" data-series="{escape(series.name)}" '
                    f'cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>'
                )
                continue
            out.append(
                f'<polyline class="series" data-series="{escape(series.name)}" fill="none" '
                f'stroke="{colour}" stroke-width="2" stroke-linejoin="round"{dash} '
                f'points="{coords}"><title>{escape(series.name)}</title></polyline>'
            )
    for marker in chart.markers:
        x = sx(marker.x)
        out.append(
            f'<g class="verdict"><line x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" '
            f'y2="{MARGIN_TOP + plot_h}" stroke="#d62728" stroke-width="2"/>'
            f'<text x="{x - 4:.1f}" y="{MARGIN_TOP + 14}" text-anchor="end" fill="#d62728" '
            f'font-weight="bold">{escape(marker.label)}</text>'
            f"<title>{escape(marker.title)}</title></g>"
        )
    out.append(_legend(chart, plot_w))
    out.append("</svg>")
    return "\n".join(out)


def _legend(chart: Chart, plot_w: float) -> str:
    parts = []
    x = MARGIN_LEFT
    for index, series in enumerate(chart.series):
        colour = series.colour or PALETTE[index % len(PALETTE)]
        label = escape(series.name)
        parts.append(
            f'<g class="legend-item"><rect x="{x}" y="8" width="12" height="4" fill="{colour}"/>'
            f'<text x="{x + 16}" y="14">{label}</text></g>'
        )
        x += 28 + 7 * len(series.name)
    return f'<g class="legend">{"".join(parts)}</g>'


def _segments(
    points: Sequence[tuple[float, float | None]],
) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in points:
        if y is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append((x, float(y)))
    if current:
        segments.append(current)
    return segments
