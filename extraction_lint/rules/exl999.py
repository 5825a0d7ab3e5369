"""EXL999 file-not-checked: reported by the engine when a file cannot be read or parsed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from extraction_lint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from extraction_lint.analysis.module import ModuleAnalysis


class FileNotChecked(Rule):
    code = "EXL999"
    name = "file-not-checked"
    summary = "A file could not be checked: a syntax error, undecodable bytes, or unreadable."
    what_it_does = """
Reports a file that the linter could not check, with the reason: a syntax error (with its
line and column), bytes that do not decode in the file's declared encoding, a file that
cannot be read (permissions, a broken link, a symbolic-link loop), or code nested too deeply
to parse. The other files of the run are still checked, and the run exits 1.

A file that the running interpreter compiles is valid and is checked, never EXL999,
whatever a parser library thinks of it: a legal mix of tabs and spaces in indentation that
libcst rejects is checked as the same text with its indentation expanded (a tab moves to
the next multiple of 8 columns, as the interpreter counts it), with the same findings, and
their columns are those of the original lines. A construct that libcst's parser does not
know costs only the top-level statement that holds it: the rest of the file is checked.

In `--format json` these files appear in `errors`; in the other formats as EXL999.
It is always on: it cannot be deselected or suppressed with `# noqa`.
"""
    why_bad = """
A file that is not checked can hide any of the other findings. A silent skip would make a
clean run mean nothing.
"""
    example = """
def broken(:
    pass
"""
    use_instead = """
def fixed():
    pass
"""
    options = "None."

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        return iter(())
