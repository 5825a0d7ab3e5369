"""``# noqa`` comments and the ``# extraction-lint: skip-file`` directive (SPEC 3): finding
them, suppressing the diagnostics they name, and reporting those that suppress nothing
(EXL900)."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from extraction_lint.diagnostics import Diagnostic, FileResult
from extraction_lint.rules import FILE_NOT_CHECKED, RULES_BY_CODE, UNUSED_NOQA

#: A noqa comment, bare or with codes (`noqa: EXL001,EXL101 reason`); codes are letters + digits.
_NOQA = re.compile(
    r"#\s*(?i:noqa)(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
)
_CODE = re.compile(r"[A-Z]+[0-9]+")
_SKIP_FILE = re.compile(r"#\s*extraction-lint:\s*skip-file\b")
_OWN_CODE = re.compile(r"EXL[0-9]*\Z")


@dataclass(frozen=True, slots=True)
class Noqa:
    """One ``# noqa`` comment: its line, column, and codes (None for a bare ``# noqa``)."""

    line: int
    column: int
    codes: tuple[str, ...] | None

    def suppresses(self, code: str) -> bool:
        """Whether this comment silences ``code`` on its line."""
        return self.codes is None or code in self.codes

    @property
    def own_codes(self) -> tuple[str, ...]:
        """The extraction-lint codes it names (other tools' codes are not ours to judge)."""
        return tuple(c for c in self.codes or () if _OWN_CODE.match(c))


def has_skip_file(text: str) -> bool:
    """Whether the file asks to be skipped (a cheap text test, confirmed by tokens)."""
    if _SKIP_FILE.search(text) is None:
        return False
    return any(_SKIP_FILE.match(comment) for _, _, comment in _comments(text))


_NOQA_WORD = re.compile("noqa", re.IGNORECASE)


def might_have_noqa(text: str) -> bool:
    """Cheap test before tokenizing: does the text mention noqa at all?"""
    return _NOQA_WORD.search(text) is not None


def find_noqa(text: str) -> dict[int, Noqa]:
    """The ``# noqa`` comments of a source, by line (comments only, not strings)."""
    found: dict[int, Noqa] = {}
    for line, column, comment in _comments(text):
        match = _NOQA.search(comment)
        if match is None:
            continue
        codes = match.group("codes")
        found[line] = Noqa(
            line=line,
            column=column + match.start() + 1,
            codes=tuple(_CODE.findall(codes)) if codes else None,
        )
    return found


def _comments(text: str) -> list[tuple[int, int, str]]:
    """(line, 0-based column, text) of every comment token."""
    out: list[tuple[int, int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                out.append((token.start[0], token.start[1], token.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # the parse reports the real error; comments read so far still count
    return out


def _codes_text(codes: list[str]) -> str:
    return ("code " if len(codes) == 1 else "codes ") + ", ".join(codes)


def noqa_problems(codes: tuple[str, ...], used: set[str]) -> str:
    """What is wrong with the extraction-lint codes of one noqa comment ('' if nothing)."""
    unknown = [c for c in codes if c not in RULES_BY_CODE]
    unsuppressible = [c for c in codes if c == FILE_NOT_CHECKED]
    unused = [
        c
        for c in codes
        if c in RULES_BY_CODE and c not in used and c not in {FILE_NOT_CHECKED, UNUSED_NOQA}
    ]
    problems = []
    if unused:
        problems.append(
            f"unused `noqa` {_codes_text(unused)}: nothing on this line is reported as "
            f"{', '.join(unused)}; remove {'it' if len(unused) == 1 else 'them'} from the comment"
        )
    if unknown:
        problems.append(
            f"`noqa` names unknown {_codes_text(unknown)} (a noqa comment takes full rule "
            "codes, not prefixes)"
        )
    if unsuppressible:
        problems.append("EXL999 cannot be suppressed: fix the file so that it can be checked")
    return "; ".join(problems)


def apply_noqa(
    text: str, display: str, diagnostics: Iterable[Diagnostic], want_unused_noqa: bool
) -> FileResult:
    """The file's result: ``diagnostics`` less those a noqa comment on their line
    suppresses, plus EXL900 for each comment that suppresses nothing when it is wanted."""
    diagnostics = list(diagnostics)
    if not diagnostics and not want_unused_noqa:
        return FileResult(path=display)
    noqa = find_noqa(text) if might_have_noqa(text) else {}
    kept: list[Diagnostic] = []
    used: dict[int, set[str]] = {}
    suppressed = 0
    for diagnostic in diagnostics:
        comment = noqa.get(diagnostic.line)
        if comment is not None and comment.suppresses(diagnostic.code):
            used.setdefault(diagnostic.line, set()).add(diagnostic.code)
            suppressed += 1
        else:
            kept.append(diagnostic)
    if want_unused_noqa:
        for line, comment in noqa.items():
            message = noqa_problems(comment.own_codes, used.get(line, set()))
            if message:
                kept.append(
                    Diagnostic(
                        code=UNUSED_NOQA,
                        name=RULES_BY_CODE[UNUSED_NOQA].name,
                        path=display,
                        line=line,
                        column=comment.column,
                        end_line=line,
                        end_column=comment.column + 6,
                        message=message,
                    )
                )
    kept.sort(key=Diagnostic.sort_key)
    return FileResult(path=display, diagnostics=tuple(kept), suppressed=suppressed)
