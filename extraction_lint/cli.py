"""The command line (SPEC 3): ``extraction-lint [OPTIONS] [PATH ...]``.

``main(argv) -> int`` does everything and returns the exit status: 0 nothing found, 1
findings or a file that could not be checked, 2 the tool could not do what was asked.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from extraction_lint import __version__
from extraction_lint.analysis.project import find_project_root
from extraction_lint.baseline import Baseline, BaselineError, BaselineWriter
from extraction_lint.cache import CACHE_DIR_ENV, DEFAULT_DIRNAME, ResultCache
from extraction_lint.config import (
    Config,
    ConfigError,
    find_config,
    load_config,
    parse_codes,
    parse_overrides,
    parse_table,
    per_file_memory,
    per_file_timeout,
    with_cli_overrides,
)
from extraction_lint.diagnostics import FileResult, Fix
from extraction_lint.discovery import (
    MissingPathError,
    SourceFile,
    discover,
    display_path,
    is_notebook,
)
from extraction_lint.fixes import apply_fixes, unified_diff
from extraction_lint.options import CheckOptions
from extraction_lint.reporters import FORMATS, Reporter, Summary
from extraction_lint.rules import ALL_RULES, FILE_NOT_CHECKED, RULES_BY_CODE, UNUSED_NOQA, Rule
from extraction_lint.runner import (
    Job,
    Runner,
    default_file_memory,
    default_jobs,
    options_for,
    run_job,
    worker_count,
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# Subcommands with arguments of their own, each imported only when named. A path that
# has such a name is linted as ``./watch``.
SUBCOMMANDS = {
    "watch": "extraction_lint.watch.cli:main",
    "status": "extraction_lint.watch.board:main",
    "report": "extraction_lint.report.cli:main",
    "clean": "extraction_lint.clean:main",
}


def _run_subcommand(name: str, argv: list[str]) -> int:
    import importlib

    module_name, function = SUBCOMMANDS[name].split(":")
    entry = getattr(importlib.import_module(module_name), function)
    return int(entry(argv))


class UsageError(Exception):
    """The tool cannot do what was asked (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


#: ``--output-format`` values: the report formats and the three layouts of ``text``.
TEXT_STYLES = ("concise", "full", "grouped")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--help`` lists every option."""
    parser = _Parser(
        prog="extraction-lint",
        description=(
            "Find unbounded accumulate-then-bulk-write code and extraction loops without "
            "heartbeat, memory or stall guards."
        ),
        epilog="Subcommands: " + ", ".join(SUBCOMMANDS) + " (each has its own --help).",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories (default: .)"
    )
    parser.add_argument("--format", choices=FORMATS, help="output format (default: text)")
    parser.add_argument(
        "--output-format",
        choices=(*TEXT_STYLES, *FORMATS),
        help="concise (text), full (text with source), grouped (text by file), or a format",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE")
    codes = "comma separated, repeatable; options that take codes add up"
    parser.add_argument(
        "--select", metavar="CODES", action="append", help=f"codes or prefixes to enable ({codes})"
    )
    parser.add_argument(
        "--ignore", metavar="CODES", action="append", help=f"codes or prefixes to disable ({codes})"
    )
    parser.add_argument(
        "--extend-select",
        metavar="CODES",
        action="append",
        help=f"codes or prefixes to add to the selection ({codes})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE|KEY=VALUE",
        action="append",
        help="a configuration file, or one setting as TOML (`bounded-range-limit = 50`); "
        "repeatable",
    )
    parser.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument("--statistics", action="store_true", help="counts per rule")
    parser.add_argument(
        "--show-source", action="store_true", help="show the code around each finding"
    )
    parser.add_argument(
        "--fix", action="store_true", help="apply the safe automatic fixes (see --unsafe-fixes)"
    )
    parser.add_argument("--diff", action="store_true", help="show automatic fixes as a diff")
    unsafe = parser.add_mutually_exclusive_group()
    unsafe.add_argument(
        "--unsafe-fixes",
        action="store_true",
        default=None,
        help="also apply (and offer) fixes that may change what the code does",
    )
    unsafe.add_argument(
        "--no-unsafe-fixes",
        dest="unsafe_fixes",
        action="store_false",
        help="apply only safe fixes, whatever the configuration says",
    )
    parser.add_argument(
        "--show-fixes",
        action="store_true",
        help="with --fix or --diff: list the fixes per file and rule",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print the findings and nothing else"
    )
    parser.add_argument(
        "-s", "--silent", action="store_true", help="print nothing; the exit status tells"
    )
    parser.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="worker processes (default: CPU count)"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not use the result cache")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"where to keep the result cache (default: ${CACHE_DIR_ENV} or {DEFAULT_DIRNAME})",
    )
    parser.add_argument(
        "--no-prefilter",
        action="store_true",
        help="parse every file, even those in which no rule can fire (slower; same findings)",
    )
    parser.add_argument(
        "--per-file-timeout",
        metavar="SECONDS",
        help="report a file whose analysis takes longer as not checked (EXL999); 0: no limit",
    )
    parser.add_argument(
        "--per-file-memory",
        metavar="SIZE",
        help=(
            "memory a process checking files may take, such as '4 GiB' (default: half of "
            "this machine's); a file that needs more is reported as not checked (EXL999); "
            "0: no limit"
        ),
    )
    parser.add_argument(
        "--stdin-filename", metavar="NAME", help="read source from stdin, report it as NAME"
    )
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply exclude patterns to paths named on the command line too",
    )
    parser.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip what .gitignore and .ignore files and git's excludes ignore (default: on)",
    )
    parser.add_argument(
        "--exclude",
        metavar="PATTERNS",
        action="append",
        default=None,
        help="gitignore-style patterns to exclude instead of the default list and the "
        "configuration's `exclude`, comma separated (repeatable)",
    )
    parser.add_argument(
        "--extend-exclude",
        metavar="PATTERNS",
        action="append",
        default=[],
        help="more gitignore-style patterns to exclude, comma separated (repeatable)",
    )
    parser.add_argument(
        "--add-noqa",
        action="store_true",
        help="add a `# noqa: CODE` comment to the line of every current finding",
    )
    parser.add_argument(
        "--baseline", metavar="FILE", help="report only findings that FILE does not hold"
    )
    parser.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write every current finding to FILE (a baseline for --baseline)",
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--explain", metavar="CODE", help="show one rule's documentation")
    parser.add_argument("--version", action="version", version=f"extraction-lint {__version__}")
    return parser


@dataclass(frozen=True)
class OutputChoice:
    """The report format and, for text, its layout."""

    format: str
    style: str


def _output_choice(args: argparse.Namespace) -> OutputChoice:
    """``--format`` / ``--output-format`` / ``--show-source`` / ``--statistics`` together."""
    chosen = args.output_format
    if chosen in TEXT_STYLES:
        fmt, style = "text", chosen
    elif chosen is not None:
        fmt, style = chosen, "concise"
    else:
        fmt, style = args.format or "text", "concise"
    if args.format is not None and chosen is not None and args.format != fmt:
        raise UsageError(f"--format {args.format} and --output-format {chosen} disagree")
    if args.show_source:
        if fmt == "text":
            style = "full" if style == "concise" else style
        elif fmt != "sarif":
            raise UsageError(
                f"--show-source draws code frames in text and adds snippets to sarif; "
                f"{fmt} output has no place for them"
            )
    if args.statistics and fmt not in {"text", "json"}:
        raise UsageError(
            f"--statistics prints counts as text or json; {fmt} output cannot hold them"
        )
    return OutputChoice(fmt, style)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in SUBCOMMANDS:
        return _run_subcommand(arguments[0], arguments[1:])
    try:
        return _main(arguments)
    except UsageError as error:
        _say(f"extraction-lint: error: {error}")
        return EXIT_USAGE
    except ConfigError as error:
        _say(f"extraction-lint: configuration error: {error}")
        return EXIT_USAGE
    except BaselineError as error:
        _say(f"extraction-lint: baseline error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("extraction-lint: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``); nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_FINDINGS
    except OSError as error:
        # The report could not be written (a full disk, a closed stream).
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        where = f"{_printable(str(error.filename))}: " if error.filename else ""
        _say(f"extraction-lint: error: cannot write the report: {where}{error.strerror or error}")
        return EXIT_USAGE


def _per_file_memory(text: str) -> int:
    try:
        return per_file_memory(0 if text.strip() == "0" else text, "--per-file-memory")
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _per_file_timeout(text: str) -> float:
    try:
        return per_file_timeout(float(text), "--per-file-timeout")
    except (ValueError, ConfigError):
        raise UsageError(
            f"--per-file-timeout takes a number of seconds from 0 (no limit) to 1000000, "
            f"got {text!r}"
        ) from None


def _say(message: str) -> None:
    """A message on stderr that cannot fail on a name the stream cannot encode."""
    with contextlib.suppress(OSError):
        sys.stderr.write(_printable(message) + "\n")
        sys.stderr.flush()


def _printable(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (file names) shown as ``\\xNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help / --version
        return int(exit_.code or 0)
    choice = _output_choice(args)
    if args.list_rules:
        _list_rules(sys.stdout, choice.format)
        return EXIT_OK
    if args.explain is not None:
        return _explain(args.explain.strip().upper(), sys.stdout, choice.format)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from_stdin = args.stdin_filename is not None or args.paths == ["-"]
    if args.stdin_filename is not None and args.paths not in ([], ["-"]):
        raise UsageError("--stdin-filename reads the source from stdin: give no paths")
    if args.add_noqa and (args.fix or args.diff or from_stdin):
        raise UsageError("--add-noqa edits files: it goes with neither --fix, --diff nor stdin")
    if args.add_noqa and (args.baseline or args.write_baseline):
        raise UsageError("--add-noqa and a baseline are two ways to accept findings: pick one")
    config = _with_discovery_options(_load_config(args), args)
    if args.unsafe_fixes is not None:
        config = replace(config, unsafe_fixes=args.unsafe_fixes)
    baseline = Baseline.read(Path(args.baseline)) if args.baseline else None
    writer = BaselineWriter(Path(args.write_baseline)) if args.write_baseline else None
    if writer is not None:
        # Said before the run, not after it.
        shown = _printable(args.write_baseline)[:200]
        if not _is_dir(writer.base):
            raise UsageError(
                f"--write-baseline {shown}: no such directory {_printable(str(writer.base))[:200]}"
            )
        if _is_dir(Path(args.write_baseline)):
            raise UsageError(f"--write-baseline {shown}: is a directory, not a file")
    if args.cache_dir and not args.no_cache and not from_stdin:
        _check_cache_dir(args.cache_dir)
    timeout = config.per_file_timeout
    if args.per_file_timeout is not None:
        timeout = _per_file_timeout(args.per_file_timeout)
    memory = config.per_file_memory
    if args.per_file_memory is not None:
        memory = _per_file_memory(args.per_file_memory)
    if memory is None:
        memory = default_file_memory()
    options = CheckOptions(
        enabled=config.enabled_codes(),
        analysis=config.analysis_settings(),
        prefilter=not args.no_prefilter,
        file_timeout=timeout or None,
        file_memory=memory or None,
        project_root=str(find_project_root(config.source, config.root, Path.cwd())),
        run_id=os.urandom(16).hex(),
    )
    cwd = Path.cwd()
    stdin_text: str | None = None
    # Fixing stdin prints the fixed source on stdout (for editors); the report goes to stderr.
    fixed_source: str | None = None
    adder = _NoqaAdder() if args.add_noqa else None
    with _output(args.output) as stream:
        if from_stdin and args.fix and not args.diff and args.output is None:
            stream = sys.stderr
        fixer = _Fixer(args, config, options, stream) if args.fix or args.diff else None
        reporter: Reporter | None = None
        if not args.diff and not args.silent:
            reporter = _reporter(
                args,
                choice,
                stream,
                cwd,
                config,
                lambda path: _lines(path, stdin_text, args),
                lambda path, cell: _cell_lines(path, cell, stdin_text, args),
            )
        summary = Summary()
        if reporter is not None:
            reporter.start()

        def take(result: FileResult, *, fixed: bool = False) -> None:
            try:
                if fixer is not None and not fixed:
                    result = fixer.handle(result)
                if adder is not None:
                    result = adder.handle(result)
            except Exception as error:  # a bug must cost one file's edit, not the run
                _say(
                    f"extraction-lint: internal error while editing {result.path}: "
                    f"{type(error).__name__}: {error}; the file is left as it was"
                )
            before = len(result.diagnostics)
            if writer is not None:
                writer.add(result)
                result = dataclasses.replace(result, diagnostics=())
            elif baseline is not None:
                result = baseline.filter(result)
            summary.baselined += before - len(result.diagnostics)
            summary.add(result, unsafe_fixes=config.unsafe_fixes)
            if reporter is not None:
                reporter.add(result)

        if from_stdin:
            data = sys.stdin.buffer.read()
            stdin_text = data.decode("utf-8", errors="replace")
            fixed_source = stdin_text
            name = Path(args.stdin_filename or "-")
            if not (args.force_exclude and config.is_excluded_with_parents(name)):
                file = SourceFile(name, display_path(name, cwd))
                result = run_job(Job(file, options_for(config, options, file), data))
                if fixer is not None:
                    result, fixed_source = fixer.handle_stdin(result, file, data)
                take(result, fixed=True)
        else:
            files = _discover(args, config)
            jobs = worker_count(args.jobs or default_jobs(), len(files))
            runner = Runner(config, options, jobs=jobs, cache=_cache(args, config))
            for result in runner.run(files):
                take(result)
        if reporter is not None:
            reporter.finish(summary)
    # -q prints the findings and nothing else; -s nothing at all (as Ruff).
    chatty = not (args.quiet or args.silent)
    if writer is not None:
        writer.write()
        if chatty:
            n, files_n = len(writer.findings), len(writer.files)
            _say(
                f"extraction-lint: wrote {n} finding{'s' if n != 1 else ''} in {files_n} "
                f"file{'s' if files_n != 1 else ''} to the baseline {args.write_baseline}"
            )
    if adder is not None and chatty:
        adder.report()
    if fixer is not None:
        if from_stdin and fixer.write and fixed_source is not None:
            sys.stdout.write(fixed_source)
        if chatty:
            fixer.report()
        if args.diff:
            return EXIT_FINDINGS if fixer.fixed and not args.exit_zero else EXIT_OK
    return EXIT_FINDINGS if summary.failed and not args.exit_zero else EXIT_OK


def _discover(args: argparse.Namespace, config: Config) -> list[SourceFile]:
    try:
        return discover(args.paths or ["."], config, force_exclude=args.force_exclude)
    except MissingPathError as error:
        raise UsageError(_printable(str(error))) from None
    except OSError as error:  # a name too long for the system, a path through a file
        where = _printable(str(error.filename)) if error.filename else "a path"
        raise UsageError(f"{where[:200]}: {error.strerror or error}") from None


class _NoqaAdder:
    """``--add-noqa``: write a noqa comment for each finding of a file."""

    def __init__(self) -> None:
        self.added = 0
        self.files = 0

    def handle(self, result: FileResult) -> FileResult:
        """Add the comments to the file; the result keeps only what could not be covered."""
        from extraction_lint.add_noqa import add_noqa
        from extraction_lint.engine import SourceError, decode

        if not result.diagnostics:
            return result
        path = Path(result.path)
        refused: dict[tuple[int | None, int], str]
        try:
            data = path.read_bytes()
            if is_notebook(result.path):
                from extraction_lint.notebook import noqa_notebook

                new, added, cell_refused = noqa_notebook(data, result.diagnostics)
                refused = {(cell, line): reason for cell, line, reason in cell_refused}
            else:
                edits = add_noqa(decode(data), result.diagnostics)
                new = _encoded(edits.text, data) if edits.added else None
                if edits.added and new is None:
                    raise UnicodeError(f"its encoding ({_encoding_of(data)}) cannot hold them")
                added, refused = edits.added, {(None, line): r for line, r in edits.refused}
        except (OSError, SourceError, UnicodeError) as error:
            reason = getattr(error, "message", None) or getattr(error, "strerror", None)
            _say(f"extraction-lint: cannot add noqa comments to {result.path}: {reason or error}")
            return result
        if new is not None:
            try:
                path.write_bytes(new)
            except OSError as error:
                _say(f"extraction-lint: cannot write {result.path}: {error}")
                return result
            self.added += added
            self.files += 1
        for (cell, line), reason in sorted(
            refused.items(), key=lambda item: (item[0][0] or 0, item[0][1])
        ):
            where = f"cell {cell}:{line}" if cell is not None else str(line)
            _say(f"extraction-lint: {result.path}:{where}: no noqa comment added: {reason}")
        kept = tuple(
            d
            for d in result.diagnostics
            if (d.cell, d.line) in refused or d.code in {FILE_NOT_CHECKED, UNUSED_NOQA}
        )
        return dataclasses.replace(
            result,
            diagnostics=kept,
            suppressed=result.suppressed + len(result.diagnostics) - len(kept),
        )

    def report(self) -> None:
        n, files = self.added, self.files
        codes = f"{n} noqa code{'s' if n != 1 else ''}"
        _say(f"Added {codes} in {files} file{'s' if files != 1 else ''}.")


class _Fixer:
    """``--fix`` writes fixed files and reports what is left; ``--diff`` prints the fixes
    as a unified diff to the report's stream and changes nothing.

    Only safe fixes are applied unless unsafe fixes are allowed (``--unsafe-fixes`` or
    ``unsafe-fixes = true``), as in Ruff.
    """

    def __init__(
        self, args: argparse.Namespace, config: Config, options: CheckOptions, stream: TextIO
    ) -> None:
        self.write = bool(args.fix and not args.diff)
        self.config = config
        self.options = options
        self.stream = stream
        self.unsafe = config.unsafe_fixes
        self.show_fixes = bool(args.show_fixes)
        self.fixed = 0
        self.files = 0
        self.hidden = 0
        self.applied: Counter[tuple[str, str]] = Counter()

    def _fix(
        self, result: FileResult, file: SourceFile, data: bytes
    ) -> tuple[FileResult, bytes | None]:
        """Apply the result's fixes to ``data``: the result after fixing and the fixed
        bytes (None when nothing changed, or with ``--diff``, which prints the diff)."""
        from extraction_lint.engine import SourceError, decode

        chosen = [
            d for d in result.diagnostics if d.fix is not None and (self.unsafe or d.fix.is_safe)
        ]
        if not self.unsafe:
            self.hidden += sum(1 for d in result.diagnostics if d.fix and not d.fix.is_safe)
        if not chosen:
            return result, None
        if is_notebook(result.path):
            return self._fix_notebook(result, file, data, [d.fix for d in chosen if d.fix])
        try:
            text = decode(data)
        except SourceError:
            return result, None
        fixed = apply_fixes(text, [d.fix for d in chosen if d.fix is not None])
        if not fixed.applied or fixed.text == text:
            return result, None
        new = _encoded(fixed.text, data)
        if self.write and new is None:
            _say(
                f"extraction-lint: cannot write the fix of {result.path}: its encoding "
                f"({_encoding_of(data)}) cannot hold the fixed text"
            )
            return result, None
        self.fixed += fixed.applied
        self.files += 1
        for d in chosen:
            self.applied[result.path, d.code] += 1
        if not self.write or new is None:
            self.stream.write(unified_diff(result.path, text, fixed.text))
            return result, None
        return run_job(Job(file, options_for(self.config, self.options, file), new)), new

    def _fix_notebook(
        self, result: FileResult, file: SourceFile, data: bytes, fixes: list[Fix]
    ) -> tuple[FileResult, bytes | None]:
        """:meth:`_fix` for a notebook: its cells rewritten in place, the rest of its JSON
        untouched; ``--diff`` shows the changed cells."""
        from extraction_lint.notebook import cell_diff, fixed_notebook

        new, applied = fixed_notebook(data, fixes)
        if new is None:
            return result, None
        self.fixed += applied
        self.files += 1
        for d in result.diagnostics:
            if d.fix is not None and d.fix in fixes:
                self.applied[result.path, d.code] += 1
        if not self.write:
            self.stream.write(cell_diff(result.path, data, new))
            return result, None
        return run_job(Job(file, options_for(self.config, self.options, file), new)), new

    def handle(self, result: FileResult) -> FileResult:
        """Fix one checked file in place (or show the diff)."""
        if not any(d.fix is not None for d in result.diagnostics):
            return result
        path = Path(result.path)
        try:
            data = path.read_bytes()
        except OSError:
            return result
        fixed, new = self._fix(result, SourceFile(path, result.path), data)
        if new is None:
            return fixed
        try:
            path.write_bytes(new)
        except OSError as error:
            _say(f"extraction-lint: cannot write {result.path}: {error}")
            return result
        return fixed

    def handle_stdin(
        self, result: FileResult, file: SourceFile, data: bytes
    ) -> tuple[FileResult, str]:
        """Fix source read from stdin: the result after fixing and the fixed source."""
        fixed, new = self._fix(result, file, data)
        source = new if new is not None else data
        return fixed, source.decode(_encoding_of(source), errors="replace")

    def report(self) -> None:
        verb = "Fixed" if self.write else "Would fix"
        n, files = self.fixed, self.files
        if n:
            problems = f"{n} problem{'s' if n != 1 else ''}"
            where = f"{files} file{'s' if files != 1 else ''}"
            _say(f"{verb} {problems} in {where}.")
            if self.show_fixes:
                for (path, code), count in sorted(self.applied.items()):
                    _say(f"  {path}: {count} x {code} ({RULES_BY_CODE[code].name})")
        elif not self.hidden:
            _say("No automatic fixes available for these findings.")
        else:
            _say("No safe automatic fixes available for these findings.")
        if self.hidden:
            h = self.hidden
            _say(
                f"{h} fix{'es' if h != 1 else ''} that may change what the code does "
                f"can be applied with --unsafe-fixes."
            )


def _encoded(text: str, original: bytes) -> bytes | None:
    """``text`` in the encoding ``original`` declares, if that encoding holds it exactly
    (a codec such as idna or punycode may refuse it or change it)."""
    encoding = _encoding_of(original)
    try:
        new = text.encode(encoding)
        return new if new.decode(encoding) == text else None
    except (UnicodeError, LookupError, ValueError):
        return None


def _encoding_of(data: bytes) -> str:
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def _check_cache_dir(where: str) -> None:
    """An explicit ``--cache-dir`` that cannot be made a writable directory is an error
    before the run (as Ruff), not a run that silently never caches; the default place may
    be read-only (a checkout in CI) and then is only not used."""
    path = Path(where)
    try:
        path.mkdir(parents=True, exist_ok=True)
        problem = "" if os.access(path, os.W_OK | os.X_OK) else "not writable"
    except FileExistsError:
        problem = "is a file, not a directory"
    except OSError as error:
        problem = error.strerror or str(error)
    if problem:
        raise UsageError(f"--cache-dir {_printable(where)[:200]}: {problem}")


def _cache(args: argparse.Namespace, config: Config) -> ResultCache | None:
    if args.no_cache:
        return None
    where = args.cache_dir or os.environ.get(CACHE_DIR_ENV) or config.root / DEFAULT_DIRNAME
    return ResultCache(Path(where))


def _codes_option(values: list[str] | None, option: str) -> tuple[str, ...]:
    """Every use of a codes option, each comma separated, in order."""
    out: list[str] = []
    for value in values or ():
        out.extend(parse_codes(value, option))
    return tuple(out)


def _load_config(args: argparse.Namespace) -> Config:
    files: list[str] = []
    settings: list[str] = []
    for entry in args.config or ():
        if "=" in entry and not _is_file(entry):
            settings.append(entry)
        else:
            files.append(entry)
    if len(files) > 1:
        raise UsageError("--config names one configuration file; give the others as KEY=VALUE")
    overrides = parse_overrides(settings)
    if args.isolated and files:
        raise UsageError("--config FILE and --isolated cannot be used together")
    if args.isolated:
        config = parse_table(overrides, source=Path(), where="--config", root=Path.cwd())
    elif files:
        path = Path(files[0])
        shown = _printable(files[0])[:200]
        if _is_dir(path):
            raise UsageError(f"--config {shown}: is a directory, not a file")
        if not _is_file(files[0]):
            raise UsageError(f"--config {shown}: no such file")
        config = load_config(path, explicit=True, overrides=overrides)
    else:
        found = find_config(Path.cwd())
        if found is not None:
            config = load_config(found, overrides=overrides)
        else:
            config = parse_table(overrides, source=Path(), where="--config", root=Path.cwd())
    return with_cli_overrides(
        config,
        select=_codes_option(args.select, "--select") if args.select else None,
        extend_select=_codes_option(args.extend_select, "--extend-select"),
        ignore=_codes_option(args.ignore, "--ignore"),
    )


def _with_discovery_options(config: Config, args: argparse.Namespace) -> Config:
    """``--[no-]respect-gitignore``, ``--exclude`` and ``--extend-exclude`` over the
    configuration file's settings (as Ruff: ``--exclude`` replaces, the other adds)."""
    from dataclasses import replace

    from extraction_lint.ignore import pattern_error

    def patterns(values: list[str]) -> tuple[str, ...]:
        return tuple(p.strip() for value in values for p in value.split(",") if p.strip())

    extra = patterns(args.extend_exclude)
    exclude = config.exclude if args.exclude is None else patterns(args.exclude)
    for pattern in (*extra, *(exclude if args.exclude is not None else ())):
        problem = pattern_error(pattern)
        if problem is not None:
            raise UsageError(f"--exclude/--extend-exclude: {pattern!r}: {problem}")
    respect = config.respect_gitignore if args.respect_gitignore is None else args.respect_gitignore
    return replace(
        config,
        respect_gitignore=respect,
        exclude=exclude,
        extend_exclude=config.extend_exclude + extra,
    )


def _is_file(path: str | Path) -> bool:
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _is_dir(path: str | Path) -> bool:
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        _tolerant(sys.stdout)
        yield sys.stdout
        sys.stdout.flush()  # a full disk shows here, not at exit
        return
    try:
        # A file name that is not UTF-8 is written as \\x escapes, never a half report.
        handle = open(path, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    except OSError as error:
        shown = _printable(path)[:200]
        raise UsageError(f"--output {shown}: {error.strerror or error}") from None
    with handle:
        yield handle


def _tolerant(stream: TextIO) -> None:
    """Make a standard stream write what it cannot encode as escapes, not raise."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(Exception):
            reconfigure(errors="backslashreplace")


def _lines(path: str, stdin_text: str | None, args: argparse.Namespace) -> list[str] | None:
    if args.stdin_filename is not None or args.paths == ["-"]:
        return stdin_text.splitlines() if stdin_text is not None else None
    try:
        if not os.path.isfile(path):
            return None
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, ValueError):
        return None


def _cell_lines(
    path: str, cell: int, stdin_text: str | None, args: argparse.Namespace
) -> list[str] | None:
    from extraction_lint.notebook import cell_source_lines

    if args.stdin_filename is not None or args.paths == ["-"]:
        data = stdin_text.encode("utf-8") if stdin_text is not None else None
    else:
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = None
    return cell_source_lines(data, cell) if data is not None else None


def _reporter(
    args: argparse.Namespace,
    choice: OutputChoice,
    stream: TextIO,
    cwd: Path,
    config: Config,
    source_lines: Callable[[str], list[str] | None],
    cell_lines: Callable[[str, int], list[str] | None] | None = None,
) -> Reporter:
    if choice.format == "json":
        from extraction_lint.reporters.json import JsonReporter

        return JsonReporter(stream, statistics=args.statistics)
    if choice.format == "sarif":
        from extraction_lint.reporters.sarif import SarifReporter

        return SarifReporter(
            stream, root=cwd, source_lines=source_lines if args.show_source else None
        )
    if choice.format == "github":
        from extraction_lint.reporters.github import GithubReporter

        return GithubReporter(stream)
    from extraction_lint.reporters.text import TextReporter

    color = None if stream is sys.stdout else False
    return TextReporter(
        stream,
        color=color,
        style=choice.style,
        statistics=args.statistics,
        quiet=args.quiet,
        unsafe_fixes=config.unsafe_fixes,
        source_lines=source_lines,
        cell_lines=cell_lines,
    )


def _rule_data(rule: type[Rule]) -> dict[str, object]:
    from extraction_lint.reporters.base import rule_url

    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "default": _default_of(rule),
        "fix": _fix_of(rule),
        "url": rule_url(rule.code),
    }


def _fix_of(rule: type[Rule]) -> str:
    from extraction_lint.rules.guarded_loop import GuardedLoopRule

    if not issubclass(rule, GuardedLoopRule):
        return rule.fix_applicability
    return "unsafe" if rule.fix_for is not GuardedLoopRule.fix_for else "none"


def _list_rules(stream: TextIO, fmt: str) -> None:
    if fmt == "json":
        stream.write(json.dumps([_rule_data(rule) for rule in ALL_RULES], indent=1) + "\n")
        return
    if fmt != "text":
        raise UsageError(f"--list-rules prints text or json, not {fmt}")
    if _is_terminal(stream):
        from rich.console import Console
        from rich.table import Table

        console = Console(file=stream, highlight=False)
        table = Table("code", "name", "default", "summary")
        for rule in ALL_RULES:
            table.add_row(rule.code, rule.name, _default_of(rule), rule.summary)
        console.print(table)
        return
    for rule in ALL_RULES:
        stream.write(f"{rule.code}\t{rule.name}\t{_default_of(rule)}\t{rule.summary}\n")


def _is_terminal(stream: TextIO) -> bool:
    """Whether rich should draw (a terminal, or ``FORCE_COLOR`` as rich reads it)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _default_of(rule: type[Rule]) -> str:
    if rule.code == FILE_NOT_CHECKED:
        return "always"
    return "on" if rule.default_enabled else "off"


def _explain(code: str, stream: TextIO, fmt: str) -> int:
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        known = ", ".join(RULES_BY_CODE)
        raise UsageError(f"--explain: unknown rule code {code[:40]!r} (known: {known})")
    if fmt == "json":
        data = {**_rule_data(rule), "explanation": rule.documentation()}
        json.dump(data, stream, indent=1)
        stream.write("\n")
        return EXIT_OK
    if fmt != "text":
        raise UsageError(f"--explain prints text or json, not {fmt}")
    if _is_terminal(stream):
        from rich.console import Console
        from rich.markdown import Markdown

        Console(file=stream, highlight=False).print(Markdown(rule.documentation()))
    else:
        stream.write(rule.documentation())
    from extraction_lint.reporters.base import rule_url

    stream.write(f"\nOnline: {rule_url(rule.code)}\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
