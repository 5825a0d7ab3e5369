"""The command line (SPEC 3): ``extraction-lint [OPTIONS] [PATH ...]``.

``main(argv) -> int`` does everything and returns the exit status: 0 nothing found, 1
findings or a file that could not be checked, 2 the tool could not do what was asked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from extraction_lint import __version__
from extraction_lint.cache import CACHE_DIR_ENV, DEFAULT_DIRNAME, ResultCache
from extraction_lint.config import (
    Config,
    ConfigError,
    find_config,
    load_config,
    parse_codes,
    per_file_timeout,
    with_cli_overrides,
)
from extraction_lint.diagnostics import FileResult
from extraction_lint.discovery import MissingPathError, SourceFile, discover, display_path
from extraction_lint.fixes import apply_fixes, unified_diff
from extraction_lint.options import CheckOptions
from extraction_lint.reporters import FORMATS, Reporter, Summary
from extraction_lint.rules import ALL_RULES, FILE_NOT_CHECKED, RULES_BY_CODE, Rule
from extraction_lint.runner import Job, Runner, default_jobs, options_for, run_job

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# Subcommands with arguments of their own, each imported only when named. A path that
# has such a name is linted as ``./watch``.
SUBCOMMANDS = {
    "watch": "extraction_lint.watch.cli:main",
    "status": "extraction_lint.watch.board:main",
    "report": "extraction_lint.report.cli:main",
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--help`` lists every option."""
    parser = _Parser(
        prog="extraction-lint",
        description=(
            "Find unbounded accumulate-then-bulk-write code and extraction loops without "
            "heartbeat, memory or stall guards."
        ),
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories (default: .)"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--select", metavar="CODES", help="codes or prefixes to enable (replaces)")
    parser.add_argument("--ignore", metavar="CODES", help="codes or prefixes to disable")
    parser.add_argument("--extend-select", metavar="CODES", help="codes or prefixes to add")
    parser.add_argument("--config", metavar="FILE", help="read configuration from FILE")
    parser.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument("--statistics", action="store_true", help="counts per rule")
    parser.add_argument(
        "--show-source", action="store_true", help="show the code around each finding"
    )
    parser.add_argument("--fix", action="store_true", help="apply automatic fixes")
    parser.add_argument("--diff", action="store_true", help="show automatic fixes as a diff")
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
        "--stdin-filename", metavar="NAME", help="read source from stdin, report it as NAME"
    )
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply exclude patterns to paths named on the command line too",
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--explain", metavar="CODE", help="show one rule's documentation")
    parser.add_argument("--version", action="version", version=f"extraction-lint {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in SUBCOMMANDS:
        return _run_subcommand(arguments[0], arguments[1:])
    try:
        return _main(arguments)
    except UsageError as error:
        print(f"extraction-lint: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as error:
        print(f"extraction-lint: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("extraction-lint: interrupted", file=sys.stderr)
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
        where = f"{error.filename}: " if error.filename else ""
        print(
            f"extraction-lint: error: cannot write the report: {where}{error.strerror or error}",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _per_file_timeout(text: str) -> float:
    try:
        return per_file_timeout(float(text), "--per-file-timeout")
    except (ValueError, ConfigError):
        raise UsageError(
            f"--per-file-timeout takes a number of seconds from 0 (no limit) to 1000000, "
            f"got {text!r}"
        ) from None


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help / --version
        return int(exit_.code or 0)
    if args.list_rules:
        _list_rules(sys.stdout)
        return EXIT_OK
    if args.explain is not None:
        return _explain(args.explain.strip().upper(), sys.stdout)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.stdin_filename is not None and args.paths not in ([], ["-"]):
        raise UsageError("--stdin-filename reads the source from stdin: give no paths")
    config = _load_config(args)
    timeout = config.per_file_timeout
    if args.per_file_timeout is not None:
        timeout = _per_file_timeout(args.per_file_timeout)
    options = CheckOptions(
        enabled=config.enabled_codes(),
        analysis=config.analysis_settings(),
        prefilter=not args.no_prefilter,
        file_timeout=timeout or None,
    )
    cwd = Path.cwd()
    stdin_text: str | None = None
    fixer = _Fixer(args, config, options) if args.fix or args.diff else None
    from_stdin = args.stdin_filename is not None or args.paths == ["-"]
    # Fixing stdin prints the fixed source on stdout (for editors); the report goes to stderr.
    fixed_source: str | None = None
    with _output(args.output) as stream:
        if from_stdin and args.fix and not args.diff and args.output is None:
            stream = sys.stderr
        reporter = _reporter(args, stream, cwd, lambda path: _lines(path, stdin_text, args))
        summary = Summary()
        reporter.start()
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
                summary.add(result)
                if not args.diff:
                    reporter.add(result)
        else:
            try:
                files = discover(args.paths or ["."], config, force_exclude=args.force_exclude)
            except MissingPathError as error:
                raise UsageError(str(error)) from None
            runner = Runner(
                config, options, jobs=args.jobs or default_jobs(), cache=_cache(args, config)
            )
            for result in runner.run(files):
                if fixer is not None:
                    result = fixer.handle(result)
                summary.add(result)
                if not args.diff:
                    reporter.add(result)
        if not args.diff:
            reporter.finish(summary)
    if fixer is not None:
        if from_stdin and fixer.write and fixed_source is not None:
            sys.stdout.write(fixed_source)
        fixer.report()
        if args.diff:
            return EXIT_FINDINGS if fixer.fixed and not args.exit_zero else EXIT_OK
    return EXIT_FINDINGS if summary.failed and not args.exit_zero else EXIT_OK


class _Fixer:
    """``--fix`` writes fixed files and reports what is left; ``--diff`` prints the fixes
    as a unified diff and changes nothing."""

    def __init__(self, args: argparse.Namespace, config: Config, options: CheckOptions) -> None:
        self.write = bool(args.fix and not args.diff)
        self.config = config
        self.options = options
        self.fixed = 0
        self.files = 0

    def _fix(
        self, result: FileResult, file: SourceFile, data: bytes
    ) -> tuple[FileResult, bytes | None]:
        """Apply the result's fixes to ``data``: the result after fixing and the fixed
        bytes (None when nothing changed, or with ``--diff``, which prints the diff)."""
        from extraction_lint.engine import SourceError, decode

        fixes = [d.fix for d in result.diagnostics if d.fix is not None]
        if not fixes:
            return result, None
        try:
            text = decode(data)
        except SourceError:
            return result, None
        fixed = apply_fixes(text, fixes)
        if not fixed.applied or fixed.text == text:
            return result, None
        if not self.write:
            self.fixed += fixed.applied
            self.files += 1
            sys.stdout.write(unified_diff(result.path, text, fixed.text))
            return result, None
        encoding = _encoding_of(data)
        try:
            new = fixed.text.encode(encoding)
        except (UnicodeError, LookupError) as error:
            # A codec that decodes the file but cannot encode the fixed text (``idna``).
            print(
                f"extraction-lint: cannot fix {result.path}: the fixed text cannot be encoded "
                f"as {encoding} (its coding declaration): {error}; left unchanged",
                file=sys.stderr,
            )
            return result, None
        self.fixed += fixed.applied
        self.files += 1
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
            print(f"extraction-lint: cannot write {result.path}: {error}", file=sys.stderr)
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
            print(f"{verb} {problems} in {where}.", file=sys.stderr)
        else:
            print("No automatic fixes available for these findings.", file=sys.stderr)


def _encoding_of(data: bytes) -> str:
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def _cache(args: argparse.Namespace, config: Config) -> ResultCache | None:
    if args.no_cache:
        return None
    where = args.cache_dir or os.environ.get(CACHE_DIR_ENV) or config.root / DEFAULT_DIRNAME
    return ResultCache(Path(where))


def _load_config(args: argparse.Namespace) -> Config:
    if args.isolated and args.config is not None:
        raise UsageError("--config and --isolated cannot be used together")
    if args.isolated:
        config = Config()
    elif args.config is not None:
        path = Path(args.config)
        if path.is_dir():
            raise UsageError(f"--config {args.config}: is a directory, not a file")
        if not path.is_file():
            raise UsageError(f"--config {args.config}: no such file")
        config = load_config(path, explicit=True)
    else:
        found = find_config(Path.cwd())
        config = load_config(found) if found is not None else Config()
    return with_cli_overrides(
        config,
        select=parse_codes(args.select, "--select") if args.select is not None else None,
        extend_select=parse_codes(args.extend_select, "--extend-select")
        if args.extend_select
        else (),
        ignore=parse_codes(args.ignore, "--ignore") if args.ignore else (),
    )


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()  # a full disk shows here, not at exit
        return
    try:
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"--output {path}: {error.strerror or error}") from None
    with handle:
        yield handle


def _lines(path: str, stdin_text: str | None, args: argparse.Namespace) -> list[str] | None:
    if args.stdin_filename is not None or args.paths == ["-"]:
        return stdin_text.splitlines() if stdin_text is not None else None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _reporter(
    args: argparse.Namespace, stream: TextIO, cwd: Path, source_lines: object
) -> Reporter:
    if args.format == "json":
        from extraction_lint.reporters.json import JsonReporter

        return JsonReporter(stream)
    if args.format == "sarif":
        from extraction_lint.reporters.sarif import SarifReporter

        return SarifReporter(stream, root=cwd)
    if args.format == "github":
        from extraction_lint.reporters.github import GithubReporter

        return GithubReporter(stream)
    from extraction_lint.reporters.text import TextReporter

    color = None if stream is sys.stdout else False
    return TextReporter(
        stream,
        color=color,
        show_source=args.show_source,
        statistics=args.statistics,
        source_lines=source_lines,  # type: ignore[arg-type]
    )


def _list_rules(stream: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, highlight=False, soft_wrap=not stream.isatty())
    if console.is_terminal:
        table = Table("code", "name", "default", "summary")
        for rule in ALL_RULES:
            table.add_row(rule.code, rule.name, _default_of(rule), rule.summary)
        console.print(table)
        return
    for rule in ALL_RULES:
        stream.write(f"{rule.code}\t{rule.name}\t{_default_of(rule)}\t{rule.summary}\n")


def _default_of(rule: type[Rule]) -> str:
    if rule.code == FILE_NOT_CHECKED:
        return "always"
    return "on" if rule.default_enabled else "off"


def _explain(code: str, stream: TextIO) -> int:
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        known = ", ".join(RULES_BY_CODE)
        raise UsageError(f"--explain: unknown rule code {code!r} (known: {known})")
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(file=stream, highlight=False)
    if console.is_terminal:
        console.print(Markdown(rule.documentation()))
    else:
        stream.write(rule.documentation())
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
