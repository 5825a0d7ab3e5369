"""``--add-noqa``: a ``# noqa: CODE`` comment, with the rule's name as reason, on the line
of every current finding (SPEC 3, adopting on existing code).

A line that has a noqa comment with codes gets the new codes added to its list; a line
with another comment gets the noqa comment after it. A line that ends inside a string or
with a backslash cannot hold a comment: it is left alone and reported.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field

from extraction_lint.diagnostics import Diagnostic
from extraction_lint.rules import FILE_NOT_CHECKED, RULES_BY_CODE, UNUSED_NOQA
from extraction_lint.suppression import find_noqa

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


@dataclass
class NoqaEdits:
    """The text with the comments added, how many codes went in, and lines left alone."""

    text: str
    added: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def _lines_that_cannot_hold_a_comment(text: str) -> dict[int, str]:
    """Lines whose end lies inside a token (a multi-line string) or that continue with a
    backslash, with the reason."""
    out: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            start, end = token.start[0], token.end[0]
            if end > start and token.type not in (tokenize.NL, tokenize.NEWLINE):
                for line in range(start, end):
                    out.setdefault(line, "the line ends inside a string")
    except (tokenize.TokenError, SyntaxError):
        pass
    for number, physical in enumerate(_split(text), start=1):
        if physical.rstrip("\r\n").endswith("\\") and number not in out:
            out[number] = "the line continues with a backslash"
    return out


def _split(text: str) -> list[str]:
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def add_noqa(text: str, diagnostics: Iterable[Diagnostic]) -> NoqaEdits:
    """``text`` with a noqa comment for each diagnostic (not EXL999, which cannot be
    suppressed, nor EXL900, which is about noqa comments)."""
    wanted: dict[int, list[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.code in {FILE_NOT_CHECKED, UNUSED_NOQA}:
            continue
        codes = wanted.setdefault(diagnostic.line, [])
        if diagnostic.code not in codes:
            codes.append(diagnostic.code)
    if not wanted:
        return NoqaEdits(text)
    lines = _split(text)
    existing = find_noqa(text)
    blocked = _lines_that_cannot_hold_a_comment(text)
    edits = NoqaEdits(text)
    for number, codes in sorted(wanted.items()):
        if not 1 <= number <= len(lines):
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        comment = existing.get(number)
        if comment is not None and comment.codes is None:
            continue  # a bare noqa suppresses every code already
        if comment is not None and comment.is_empty:
            # A noqa colon followed by no code suppresses nothing: the codes go after it.
            at = comment.codes_end
            rest = body[at:].strip()
            ordered = sorted(codes)
            body = f"{body[:at].rstrip()} {', '.join(ordered)}" + (f" {rest}" if rest else "")
            added = len(ordered)
        elif comment is not None and comment.codes:
            missing = [c for c in sorted(codes) if c not in comment.codes]
            if not missing:
                continue
            at = comment.codes_end
            body = body[:at] + "".join(f", {c}" for c in missing) + body[at:]
            added = len(missing)
        else:
            if number in blocked:
                edits.refused.append((number, blocked[number]))
                continue
            ordered = sorted(codes)
            names = ", ".join(RULES_BY_CODE[c].name for c in ordered)
            body = f"{body.rstrip()}  # noqa: {', '.join(ordered)} {names}"
            added = len(ordered)
        lines[number - 1] = body + ending
        edits.added += added
    edits.text = "".join(lines)
    return edits
