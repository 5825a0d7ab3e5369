"""What a rule is: its code, name, documentation, samples and check.

A rule module holds one :class:`Rule` subclass. Its documentation follows one layout
(*What it does*, *Why is this bad?*, *Example*, *Use instead*, *Known problems*,
*Options*) and feeds ``--explain`` and ``rules/CODE.md``; its ``valid`` and ``invalid``
samples run as tests. In an invalid sample, every line that must be reported ends with a
comment naming the code (``# EXL001``), and no other line may be reported.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # the registry is imported without libcst (configuration, cache hits)
    import libcst as cst

    from extraction_lint.analysis.module import ModuleAnalysis


@dataclass(frozen=True, slots=True)
class Related:
    """A secondary location of a finding (a growth site, a loop header)."""

    node: cst.CSTNode
    message: str


@dataclass(frozen=True, slots=True)
class FixSpec:
    """An automatic fix in terms of the tree: replace ``node`` by ``replacement`` (and each
    node of ``more`` by its text), add ``import_line`` among the module's imports when it is
    given, and ``module_statement`` (a line of code) right after the module's imports."""

    message: str
    node: cst.CSTNode
    replacement: str
    import_line: str | None = None
    more: tuple[tuple[cst.CSTNode, str], ...] = ()
    module_statement: str | None = None
    #: The fix may change what the code does (beyond adding an import).
    unsafe: bool = False

    @property
    def applicability(self) -> str:
        """``"unsafe"`` when the fix adds an import (a new runtime dependency of the
        module) or says it may change behaviour, ``"safe"`` otherwise."""
        return "unsafe" if self.import_line is not None or self.unsafe else "safe"


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule reports, before positions are known.

    The range runs from the start of ``node`` to the end of ``end_node`` (or of ``node``).
    """

    code: str
    node: cst.CSTNode
    message: str
    related: tuple[Related, ...] = ()
    end_node: cst.CSTNode | None = None
    fix: FixSpec | None = None


class Need(enum.Enum):
    """What a file must hold for a rule to have anything to report in it.

    Every need includes a sink or loader call (by the catalogue). The engine's prefilter
    reads the needs of the enabled rules and skips the analysis of a file that holds none
    of them; a rule that declares no needs is run on every file.
    """

    #: A loader or sink call inside an unbounded loop (header included).
    EXTRACTION_LOOP = "extraction-loop"
    #: The same, in a loop that the guard rules check (SPEC 2.5): not directly in a
    #: generator function, nor in one named as a loader, a sink or an iteration method.
    GUARDED_EXTRACTION_LOOP = "guarded-extraction-loop"
    #: A sink call in a scope that binds a collection and grows something in an unbounded
    #: loop.
    ACCUMULATION = "accumulation"
    #: A sink call in a scope that materialises something (a comprehension, a
    #: ``list(...)``-like call, ``[*x]``).
    MATERIALIZATION = "materialization"
    #: A sink call in a scope that calls a function of the module which returns after
    #: growing a collection in an unbounded loop.
    ACCUMULATING_HELPER = "accumulating-helper"


class Rule:
    """Base class of the rules. Subclasses set the class attributes and :meth:`check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    #: One sentence: what the rule reports (SARIF short description, ``--list-rules``).
    summary: ClassVar[str]
    default_enabled: ClassVar[bool] = True
    #: Whether the rule has an automatic fix: ``"none"``, ``"safe"`` or ``"unsafe"``.
    fix_applicability: ClassVar[str] = "none"
    what_it_does: ClassVar[str]
    why_bad: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    known_problems: ClassVar[str] = "None known."
    options: ClassVar[str] = "None."
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[str, ...]] = ()
    #: A file can hold a finding of this rule only where one of these holds (see
    #: :class:`Need`); None when the rule does not say, and then it is run on every file.
    needs: ClassVar[frozenset[Need] | None] = None

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        """Yield the findings of this rule in one module."""
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        """The rule's page, in Markdown."""
        default = "on" if cls.default_enabled else "off (select it to enable)"
        if cls.code == "EXL999":
            default = "always on (it cannot be deselected or suppressed)"
        parts = [
            f"# {cls.code} {cls.name}",
            "",
            f"{cls.summary}",
            "",
            f"Default: {default}.",
            "",
            "## What it does",
            "",
            cls.what_it_does.strip(),
            "",
            "## Why is this bad?",
            "",
            cls.why_bad.strip(),
            "",
            "## Example",
            "",
            "```python",
            cls.example.strip("\n"),
            "```",
            "",
            "## Use instead",
            "",
            "```python",
            cls.use_instead.strip("\n"),
            "```",
            "",
            "## Known problems",
            "",
            cls.known_problems.strip(),
            "",
            "## Options",
            "",
            cls.options.strip(),
            "",
        ]
        return "\n".join(parts)
