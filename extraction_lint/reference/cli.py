"""Command line: ``python -m extraction_lint.reference {make-data,extract} ...``.

Exit status: 0 success; 1 a file failed (``--on-error fail``), a guardrail stopped the
run, or the database is damaged or could not be written; 2 bad arguments (a ``--db``
that is not a DuckDB database among them); 130 interrupted (Ctrl-C, SIGINT); 143
terminated (SIGTERM). A stopped run prints its summary first; committed files stay. Expected errors
are one message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from extraction_lint.guardrails import GuardrailError, parse_duration, parse_size
from extraction_lint.guardrails.units import format_bytes

from .data import FILE_PATTERN, PRESETS, DataShape, make_data
from .errors import DatabaseDamaged, InputFileError, SetupError, Terminated
from .extract import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_ROWS,
    DEFAULT_DUCKDB_MEMORY,
    MIN_DUCKDB_MEMORY,
    ExtractOptions,
    ExtractSummary,
    GuardSettings,
    OnError,
    check_pattern,
    run_extract,
)
from .store import ROW_GROUP_SIZE, Layout, duckdb_memory_hint, is_out_of_memory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended
EXIT_TERMINATED = 143  # 128 + SIGTERM
OFF_WORDS = ("none", "off")
PROG = "python -m extraction_lint.reference"
DEFAULTS = GuardSettings()


def _size(name: str, allow_off: bool = False) -> Callable[[str], int | None]:
    def size(text: str) -> int | None:
        if allow_off and text.strip().lower() in OFF_WORDS:
            return None
        try:
            return parse_size(text, name)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return size


def _duration(name: str) -> Callable[[str], float | None]:
    def duration(text: str) -> float | None:
        if text.strip().lower() in OFF_WORDS:
            return None
        try:
            return parse_duration(text, name)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return duration


def _pattern(text: str) -> str:
    try:
        return check_pattern(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


#: ``--duckdb-memory auto``: start at the default and grow with the data.
AUTO = "auto"


def _duckdb_memory(text: str) -> int | str | None:
    if text.strip().lower() == AUTO:
        return AUTO
    size = _size("--duckdb-memory", allow_off=True)(text)
    if size is not None and size < MIN_DUCKDB_MEMORY:
        raise argparse.ArgumentTypeError(
            f"must be at least {format_bytes(MIN_DUCKDB_MEMORY)} (DuckDB works in blocks of "
            f"256 KiB, several at a time), got {format_bytes(size)}"
        )
    return size


def _count(minimum: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return count


def _add_guard_options(parser: argparse.ArgumentParser, defaults: GuardSettings) -> None:
    group = parser.add_argument_group(
        "guardrails",
        "sizes like '2 GiB' or '500MB', durations like '90s', '5m', '2h'; 'off' turns a guard off",
    )
    group.add_argument(
        "--memory-limit",
        type=_size("--memory-limit", allow_off=True),
        default=defaults.memory_limit,
        metavar="SIZE",
        help="stop with MemoryLimitExceeded when RSS + swap goes over this (default: 2 GiB)",
    )
    group.add_argument(
        "--stall-timeout",
        type=_duration("--stall-timeout"),
        default=defaults.stall_timeout,
        metavar="DURATION",
        help="stop with StallDetected after this long without a batch done (default: 5m)",
    )
    group.add_argument(
        "--timeout",
        type=_duration("--timeout"),
        default=defaults.timeout,
        metavar="DURATION",
        help="stop with DeadlineExceeded after this long in all (default: 12h)",
    )
    group.add_argument(
        "--heartbeat-every",
        type=_duration("--heartbeat-every"),
        default=defaults.heartbeat_every,
        metavar="DURATION",
        help="one progress line this often on stderr, a bar on a terminal (default: 30s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``make-data`` and ``extract`` subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Reference streaming extractor: signal pickles into DuckDB, the compliant way.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    make = commands.add_parser(
        "make-data",
        help="write a synthetic input set shaped like the incident's",
        description=(
            "Write N pickles, each a dict of M subject ids -> float64 signals of L samples. "
            "Same arguments, same bytes."
        ),
    )
    make.add_argument("directory", type=Path, metavar="DIR", help="where to write the files")
    make.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="small",
        help="starting shape: small (4 x 8 x 1,000, default) or incident "
        "(136 x 507 x 6,000: 3.3 GB); the options below override it",
    )
    make.add_argument("--files", type=_count(1), metavar="N", help="number of files")
    make.add_argument("--subjects", type=_count(0), metavar="M", help="subjects per file")
    make.add_argument("--length", type=_count(0), metavar="L", help="samples per signal")
    make.add_argument("--seed", type=_count(0), metavar="S", help="random seed (default: 0)")

    run = commands.add_parser(
        "extract",
        help="load the pickles of DIR into a DuckDB database",
        description=(
            "Load every input file into the signals table (the samples table with --layout "
            "long), one transaction per file with its manifest row. Files the manifest "
            "already lists with the same SHA-256 are skipped, so a stopped run resumes where "
            "it stopped."
        ),
    )
    run.add_argument("directory", type=Path, metavar="DIR", help="directory of input pickles")
    run.add_argument(
        "--db",
        type=Path,
        required=True,
        metavar="FILE",
        help="DuckDB database (created if missing)",
    )
    run.add_argument(
        "--pattern",
        type=_pattern,
        default=FILE_PATTERN,
        help=f"input file glob, relative to DIR (default: {FILE_PATTERN})",
    )
    run.add_argument(
        "--layout",
        choices=[layout.value for layout in Layout],
        default=Layout.WIDE.value,
        help="wide: a row per subject, its signal a DOUBLE[] (table signals, default); long: "
        "a row per sample (table samples: file, subject, t, value)",
    )
    run.add_argument(
        "--batch-rows",
        type=_count(1),
        default=DEFAULT_BATCH_ROWS,
        metavar="N",
        help=f"most signals per insert (default: {DEFAULT_BATCH_ROWS:,})",
    )
    run.add_argument(
        "--batch-bytes",
        type=_size("--batch-bytes"),
        default=DEFAULT_BATCH_BYTES,
        metavar="SIZE",
        help=f"most signal bytes per insert (default: {format_bytes(DEFAULT_BATCH_BYTES)})",
    )
    run.add_argument(
        "--duckdb-memory",
        type=_duckdb_memory,
        default=AUTO,
        metavar="SIZE",
        help=f"DuckDB's own memory_limit; 'auto' (the default) starts at "
        f"{format_bytes(DEFAULT_DUCKDB_MEMORY)} and grows as the signals need, within half "
        "of --memory-limit; 'off' leaves DuckDB's default of 80%% of RAM",
    )
    run.add_argument(
        "--on-error",
        choices=[mode.value for mode in OnError],
        default=OnError.FAIL.value,
        help="fail: stop at the first bad file, exit 1 (default); skip: record it in the "
        "errors table and go on",
    )
    _add_guard_options(run, DEFAULTS)
    return parser


def _configure_logging() -> None:
    # A program that set up logging keeps its own; otherwise heartbeats and notices go to
    # stderr with a time stamp, as a background job's log should.
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )


def _make_data(args: argparse.Namespace) -> int:
    preset = PRESETS[args.preset]
    shape = DataShape(
        files=preset.files if args.files is None else args.files,
        subjects=preset.subjects if args.subjects is None else args.subjects,
        length=preset.length if args.length is None else args.length,
        seed=preset.seed if args.seed is None else args.seed,
    )
    if args.directory.exists() and not args.directory.is_dir():
        raise SetupError(
            f"{str(args.directory)!r} exists and is not a directory; give a new or an existing "
            "directory as DIR"
        )
    try:
        paths = make_data(args.directory, shape)
    except OSError as error:
        where = error.filename or args.directory
        raise SetupError(f"cannot write to {str(where)!r}: {error.strerror or error}") from None
    print(
        f"make-data: wrote {len(paths)} files x {shape.subjects} subjects x {shape.length} "
        f"samples ({format_bytes(shape.total_bytes)} of signals) to {args.directory}"
    )
    return EXIT_OK


def extract_options(args: argparse.Namespace) -> ExtractOptions:
    """The options of ``extract`` from its parsed command line."""
    return ExtractOptions(
        input_dir=args.directory,
        db_path=args.db,
        pattern=args.pattern,
        layout=Layout(args.layout),
        batch_rows=args.batch_rows,
        batch_bytes=args.batch_bytes,
        duckdb_memory=DEFAULT_DUCKDB_MEMORY if args.duckdb_memory == AUTO else args.duckdb_memory,
        duckdb_memory_grows=args.duckdb_memory == AUTO,
        on_error=OnError(args.on_error),
        guard=GuardSettings(
            memory_limit=args.memory_limit,
            stall_timeout=args.stall_timeout,
            timeout=args.timeout,
            heartbeat_every=args.heartbeat_every,
        ),
    )


def _extract(args: argparse.Namespace) -> int:
    options = extract_options(args)
    summary = run_extract(options)
    print(summary.line(), flush=True)
    failure = summary.failure
    if failure is None:
        return EXIT_OK
    if isinstance(failure, (KeyboardInterrupt, Terminated)):
        return _stopped_by_signal(
            failure, "committed files stay loaded; run the same command again to load the rest"
        )
    if isinstance(failure, InputFileError):
        message = f"error: {failure} (nothing of this file was committed)"
    elif isinstance(failure, GuardrailError):
        message = f"stopped by {type(failure).__name__}: {failure}"
    elif isinstance(failure, duckdb.Error) and is_out_of_memory(failure):
        message = _duckdb_memory_message(failure, options, summary)
    elif isinstance(failure, duckdb.Error):
        message = (
            f"error: DuckDB failed on database {str(options.db_path)!r}: "
            f"{type(failure).__name__}: {failure}"
        )
    else:
        message = f"error: {type(failure).__name__}: {failure}"
    print(f"{PROG} extract: {message}", file=sys.stderr)
    return EXIT_FAILED


def _duckdb_memory_message(
    error: duckdb.Error, options: ExtractOptions, summary: ExtractSummary
) -> str:
    limit = summary.duckdb_memory or options.duckdb_memory
    needed = duckdb_memory_hint(
        options.layout,
        summary.largest_signal_bytes,
        summary.signals_in_table,
        min(options.batch_bytes, options.batch_rows * summary.largest_signal_bytes),
    )
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    where = f" {summary.failure_file}" if summary.failure_file else ""
    shown = format_bytes(limit) if limit else "default"
    setting = f"--duckdb-memory {shown}"
    if options.duckdb_memory_grows:
        setting = f"--duckdb-memory auto, at {shown}"
    return (
        f"DuckDB ran out of its memory ({setting}) while writing{where}: {first_line}\n"
        f"An insert holds its batch, a checkpoint the table's last row group (up to "
        f"{ROW_GROUP_SIZE:,} signals); with signals of up to "
        f"{format_bytes(summary.largest_signal_bytes)} that needs up to about "
        f"{format_bytes(needed)}. Files committed so far are kept: run again with "
        f"--duckdb-memory {format_bytes(needed)} or more (and a --memory-limit above it), "
        "or a smaller --batch-bytes."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging()
    try:
        if args.command == "make-data":
            return _make_data(args)
        return _extract(args)
    except SetupError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseDamaged as error:
        print(
            f"{PROG} {args.command}: error: {error}\nNothing was written to it. Restore it from "
            "a copy, or load into a new --db (the input files are read again).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except GuardrailError as error:
        print(f"{PROG} {args.command}: stopped by {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (KeyboardInterrupt, Terminated) as error:  # before the run started, or after it
        return _stopped_by_signal(error, "nothing more was written", args.command)


def _stopped_by_signal(error: BaseException, what: str, command: str = "extract") -> int:
    if isinstance(error, Terminated):
        print(f"{PROG} {command}: terminated (SIGTERM); {what}", file=sys.stderr, flush=True)
        return EXIT_TERMINATED
    print(f"{PROG} {command}: interrupted (Ctrl-C); {what}", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED
