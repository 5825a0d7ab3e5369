"""``extraction-lint report FILE.jsonl -o report.html``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .history import HistoryError, load_history
from .page import build_page

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``report``."""
    parser = argparse.ArgumentParser(
        prog="extraction-lint report",
        description=(
            "Turn a job's history (written by 'extraction-lint watch --record FILE' or "
            "guard(..., record=FILE)) into one self-contained HTML page with charts of "
            "memory, swap, output size, I/O and progress, the verdicts marked on them."
        ),
    )
    parser.add_argument("history", metavar="FILE.jsonl", help="the recorded history")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.html",
        help="where to write the page (default: the history's name with .html)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``extraction-lint report``; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    source = Path(args.history)
    target = Path(args.output) if args.output else source.with_suffix(".html")
    try:
        history = load_history(source)
    except HistoryError as error:
        print(f"extraction-lint report: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    page = build_page(history)
    try:
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        print(
            f"extraction-lint report: error: cannot write {target}: {error.strerror or error}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for skipped in history.skipped[:5]:
        print(f"extraction-lint report: {source}: skipped {skipped}", file=sys.stderr)
    print(
        f"wrote {target} ({len(history.readings):,} readings, {len(history.verdicts)} verdicts)",
        file=sys.stderr,
    )
    return 0
