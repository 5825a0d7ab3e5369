"""The options one file is checked with (plain, picklable data for worker processes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from extraction_lint.analysis.settings import AnalysisSettings
from extraction_lint.rules import TREE_RULES

#: Seconds one file's analysis may take before it is reported as not checked (EXL999).
DEFAULT_FILE_TIMEOUT = 60.0


def default_codes() -> frozenset[str]:
    """The codes that are on when nothing selects otherwise."""
    return frozenset(r.code for r in TREE_RULES if r.default_enabled)


@dataclass(frozen=True)
class CheckOptions:
    """What checking one file needs: the enabled codes and the analysis settings."""

    enabled: frozenset[str] = field(default_factory=default_codes)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    #: Skip the libcst parse of files in which no enabled rule can fire (see prefilter.py).
    prefilter: bool = True
    #: Seconds one file's analysis may take (None: no limit). Not part of the fingerprint:
    #: a result that finishes does not depend on it, and one that does not is not cached.
    file_timeout: float | None = DEFAULT_FILE_TIMEOUT
    #: Bytes of address space a process that checks files may take (None: no limit). Not
    #: part of the fingerprint, for the same reason as ``file_timeout``.
    file_memory: int | None = None
    #: The project root whose modules calls are followed into (SPEC 2.6); None follows
    #: calls of functions of the checked module only.
    project_root: str | None = None
    #: One run of the tool: the project's modules are read once per run and process.
    run_id: str = ""

    def fingerprint(self) -> str:
        """A stable text of everything here that can change a file's result."""
        return (
            ",".join(sorted(self.enabled))
            + "#"
            + self.analysis.fingerprint()
            + "#"
            + (self.project_root or "")
        )
