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

#: A noqa comment, bare or with codes (`noqa: EXL001,EXL101 reason`). As in Ruff, the word
#: noqa is matched in any case, codes are letters then digits, separated by commas or
#: spaces, and the first word that is not a code starts the free reason. Codes are matched
#: in any case too (`exl102` is EXL102). A colon followed by no code is not a bare noqa:
#: it suppresses nothing (EXL900 says so).
_NOQA = re.compile(
    r"#\s*(?i:noqa)(?![A-Za-z0-9_])"
    r"(?P<colon>\s*:\s*(?P<codes>[A-Za-z]+[0-9]+\b(?:(?:\s*,\s*|\s+)[A-Za-z]+[0-9]+\b)*)?)?",
)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")
_SKIP_FILE = re.compile(r"#\s*extraction-lint:\s*skip-file\b")
_OWN_CODE = re.compile(r"EXL[0-9]*\Z")


@dataclass(frozen=True, slots=True)
class Noqa:
    """One ``# noqa`` comment: its line, column, and codes (None for a bare ``# noqa``)."""

    line: int
    column: int
    #: Upper case; None for a bare noqa, empty when the colon is followed by no code.
    codes: tuple[str, ...] | None
    #: Offset in the comment's line where the codes end (where another code can go).
    codes_end: int = 0

    def suppresses(self, code: str) -> bool:
        """Whether this comment silences ``code`` on its line."""
        return self.codes is None or code in self.codes

    @property
    def is_empty(self) -> bool:
        """``# noqa:`` with no code after the colon: it suppresses nothing."""
        return self.codes == ()

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
        if codes:
            parsed: tuple[str, ...] | None = tuple(c.upper() for c in _CODE.findall(codes))
        else:
            parsed = () if match.group("colon") and ":" in match.group("colon") else None
        found[line] = Noqa(
            line=line,
            column=column + match.start() + 1,
            codes=parsed,
            codes_end=column + (match.end("codes") if codes else match.end()),
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


def noqa_problems(comment: Noqa, used: set[str], enabled: frozenset[str]) -> str:
    """What is wrong with the extraction-lint codes of one noqa comment ('' if nothing)."""
    if comment.is_empty:
        return "`# noqa:` names no rule code, so it suppresses nothing; write `# noqa: EXL001`"
    codes = comment.own_codes
    unknown = [c for c in codes if c not in RULES_BY_CODE]
    unsuppressible = [c for c in codes if c == FILE_NOT_CHECKED]
    judged = [
        c
        for c in codes
        if c in RULES_BY_CODE and c not in used and c not in {FILE_NOT_CHECKED, UNUSED_NOQA}
    ]
    disabled = [c for c in judged if c not in enabled]
    unused = [c for c in judged if c in enabled]
    problems = []
    if unused:
        problems.append(
            f"unused `noqa` {_codes_text(unused)}: nothing on this line is reported as "
            f"{', '.join(unused)}; remove {'it' if len(unused) == 1 else 'them'} from the comment"
        )
    if disabled:
        problems.append(
            f"`noqa` names {_codes_text(disabled)} of "
            f"{'a rule' if len(disabled) == 1 else 'rules'} not enabled in this run, so it "
            "cannot tell whether the comment is still needed"
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
    text: str,
    display: str,
    diagnostics: Iterable[Diagnostic],
    want_unused_noqa: bool,
    enabled: frozenset[str],
) -> FileResult:
    """The file's result: ``diagnostics`` less those a noqa comment on their line
    suppresses, plus EXL900 for each comment that suppresses nothing when it is wanted
    (``enabled``: the codes of the run), each with its baseline fingerprint."""
    from extraction_lint.baseline import with_fingerprints

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
            message = noqa_problems(comment, used.get(line, set()), enabled)
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
    return FileResult(
        path=display, diagnostics=tuple(with_fingerprints(kept, text)), suppressed=suppressed
    )
