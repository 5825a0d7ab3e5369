"""The report page: one HTML file with its styles and charts inline (nothing fetched to view it)."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from extraction_lint import __version__
from extraction_lint.guardrails.units import format_bytes, format_duration, format_rate

from .history import History
from .svg import Chart, Marker, Series, render

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2330; background: #f4f5f7; margin: 0; }
main { max-width: 960px; margin: 0 auto; padding: 20px 20px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 6px; }
.command { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px;
           color: #4a5262; word-break: break-all; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px;
          padding: 12px 14px; margin: 14px 0; }
table.facts { border-collapse: collapse; width: 100%; }
table.facts td { padding: 3px 10px 3px 0; vertical-align: top; }
table.facts td:first-child { color: #5b6475; white-space: nowrap; width: 150px; }
.verdicts li { color: #b01c1c; margin: 2px 0; }
.verdicts .when { color: #5b6475; font-variant-numeric: tabular-nums; }
.ok { color: #1d7a36; }
.chart { display: block; max-width: 100%; height: auto; }
.chart text { font-size: 11px; fill: #4a5262; }
.chart .limit-label, .chart .verdict text { font-size: 11px; }
.chart .legend text { font-size: 12px; fill: #1d2330; }
.empty { color: #6b7383; font-style: italic; padding: 8px 0; }
footer { color: #6b7383; font-size: 12px; }
"""


def _short_bytes(value: float) -> str:
    return format_bytes(value).replace(".0 ", " ")


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _markers(history: History) -> list[Marker]:
    return [
        Marker(
            history.x(verdict),
            str(verdict.get("verdict", "verdict")),
            str(verdict.get("message", "")),
        )
        for verdict in history.verdicts
    ]


def charts(history: History) -> list[tuple[Chart | None, str, str]]:
    """Each chart, or ``None`` with the reason it has no figures: ``(chart, key, title)``."""
    markers = _markers(history)
    limits: dict[str, Any] = history.start.get("limits") or {}
    found: list[tuple[Chart | None, str, str]] = []

    memory_series = [Series("RSS", history.series("rss"))]
    if (history.peak("swap") or 0) > 0:
        total = [
            (x, None if rss is None else rss + (swap or 0))
            for (x, rss), (_, swap) in zip(
                history.series("rss"), history.series("swap"), strict=False
            )
        ]
        memory_series.append(Series("RSS + swap", total, dashed=True))
    memory_limit = limits.get("memory")
    found.append(
        (
            Chart(
                "memory",
                "Memory",
                memory_series,
                _short_bytes,
                limits=[("limit", float(memory_limit))] if memory_limit else [],
                markers=markers,
                y_unit="bytes",
            ),
            "memory",
            "Memory (resident set)",
        )
    )
    if history.has("swap"):
        found.append(
            (
                Chart(
                    "swap",
                    "Swap",
                    [Series("swapped out", history.series("swap"), colour="#9467bd")],
                    _short_bytes,
                    markers=markers,
                    y_unit="bytes",
                ),
                "swap",
                "Swap (the job's memory paged out to disk)",
            )
        )
    else:
        found.append((None, "swap", "Swap: not measured"))
    outputs = sorted({path for r in history.readings for path in (r.get("outputs") or {})})
    if history.has("output_size"):
        if len(outputs) > 1:
            output_series = [
                Series(
                    path,
                    [
                        (history.x(r), _size((r.get("outputs") or {}).get(path)))
                        for r in history.readings
                    ],
                )
                for path in outputs
            ]
        else:
            name = outputs[0] if outputs else "output"
            output_series = [Series(name, history.series("output_size"), colour="#2ca02c")]
        found.append(
            (
                Chart(
                    "output", "Output", output_series, _short_bytes, markers=markers, y_unit="bytes"
                ),
                "output",
                "Output size",
            )
        )
    else:
        found.append((None, "output", "Output size: no output was watched"))
    if history.has("write_bytes") or history.has("read_bytes"):
        found.append(
            (
                Chart(
                    "io",
                    "I/O",
                    [
                        Series("read", history.series("read_bytes"), colour="#1f77b4"),
                        Series("written", history.series("write_bytes"), colour="#d62728"),
                    ],
                    _short_bytes,
                    markers=markers,
                    y_unit="bytes",
                ),
                "io",
                "I/O (bytes read and written since the start, counted by the kernel)",
            )
        )
    else:
        found.append((None, "io", "I/O: not measured"))
    if history.has("done"):
        items_total = history.last("total")
        found.append(
            (
                Chart(
                    "progress",
                    "Progress",
                    [Series("items done", history.series("done"), colour="#ff7f0e")],
                    _count,
                    limits=[("total", items_total)] if items_total else [],
                    markers=markers,
                ),
                "progress",
                "Progress (items done)",
            )
        )
    else:
        found.append(
            (None, "progress", "Progress: no figures (the job did not run under guard(...))")
        )
    if history.has("cpu"):
        found.append(
            (
                Chart(
                    "cpu",
                    "CPU",
                    [Series("CPU", history.series("cpu"), colour="#8c564b")],
                    _percent,
                    markers=markers,
                ),
                "cpu",
                "CPU (100% = one core busy)",
            )
        )
    return found


def _size(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _facts(history: History) -> list[tuple[str, str]]:
    start = history.start
    facts: list[tuple[str, str]] = []
    source = start.get("source")
    if source:
        facts.append(
            ("recorded by", "extraction-lint watch" if source == "watch" else "guard(...)")
        )
    if start.get("pid") is not None:
        facts.append(("process", f"pid {start.get('pid')} on {start.get('host', '?')}"))
    facts.append(("started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(history.t0))))
    facts.append(("ran for", format_duration(history.duration)))
    peak_rss = history.peak("rss")
    if peak_rss is not None:
        limit = (start.get("limits") or {}).get("memory")
        of_limit = f" (limit {format_bytes(limit)})" if limit else ""
        facts.append(("peak memory", f"{format_bytes(peak_rss)} resident{of_limit}"))
    peak_swap = history.peak("swap")
    if peak_swap is not None:
        facts.append(("peak swap", format_bytes(peak_swap)))
    read, written = history.last("read_bytes"), history.last("write_bytes")
    if read is not None and written is not None:
        ratio = f" ({written / read:,.1f}x)" if read else ""
        facts.append(
            ("I/O", f"{format_bytes(written)} written for {format_bytes(read)} read{ratio}")
        )
    size = history.last("output_size")
    if size is not None:
        facts.append(("output at the end", format_bytes(size)))
    done = history.last("done")
    if done is not None:
        total = history.last("total")
        rate = history.last("rate")
        counted = f"{done:,.0f}/{total:,.0f}" if total else f"{done:,.0f}"
        facts.append(("items done", counted + (f" at {format_rate(rate)}" if rate else "")))
    end = history.end
    if end is not None:
        status = end.get("exit_status")
        facts.append(
            (
                "end",
                f"{end.get('state', '?')}" + ("" if status is None else f", exit status {status}"),
            )
        )
    else:
        facts.append(("end", "not recorded (the history stops at its last reading)"))
    if history.skipped:
        facts.append(("skipped lines", f"{len(history.skipped)}: {'; '.join(history.skipped[:3])}"))
    return facts


def build_page(history: History) -> str:
    """The whole HTML page for ``history``."""
    start = history.start
    label = str(start.get("label") or history.path.stem)
    command = start.get("command") or []
    command_text = " ".join(str(part) for part in command) if isinstance(command, list) else ""
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(label)}: job report</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{escape(label)}</h1>",
    ]
    if command_text and command_text != label:
        parts.append(f'<div class="command">{escape(command_text)}</div>')
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>"
        for name, value in _facts(history)
    )
    parts.append(f'<section class="summary"><table class="facts">{rows}</table></section>')
    if history.verdicts:
        items = "".join(
            f'<li><span class="when">{escape(format_duration(history.x(v)))}</span> '
            f"{escape(str(v.get('message', v.get('verdict', ''))))}</li>"
            for v in history.verdicts
        )
        parts.append(f'<section class="verdicts"><h2>Verdicts</h2><ul>{items}</ul></section>')
    else:
        parts.append('<section class="verdicts"><h2>Verdicts</h2><p class="ok">none</p></section>')
    x_end = history.duration
    for chart, key, title in charts(history):
        if chart is None:
            parts.append(
                f'<section class="chart-box" data-chart-box="{escape(key)}">'
                f"<h2>{escape(title.split(':')[0])}</h2>"
                f'<div class="empty">{escape(title.split(": ", 1)[-1])}</div></section>'
            )
            continue
        parts.append(
            f'<section class="chart-box" data-chart-box="{escape(key)}"><h2>{escape(title)}</h2>'
            f"{render(chart, x_end)}</section>"
        )
    parts.append(
        f"<footer>{len(history.readings):,} readings from {escape(history.path.name)}; "
        f"extraction-lint {escape(__version__)}</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)
