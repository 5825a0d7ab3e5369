"""What the analysis needs from the configuration (importable without libcst)."""

from __future__ import annotations

from dataclasses import dataclass, field

from extraction_lint.analysis.catalog import Catalog


@dataclass(frozen=True)
class AnalysisSettings:
    """The catalogue in force and the largest ``range`` that counts as a bounded loop."""

    catalog: Catalog = field(default_factory=Catalog)
    bounded_range_limit: int = 1000

    def fingerprint(self) -> str:
        """A stable text of these settings (sets sorted), for cache keys."""
        catalog = self.catalog
        parts = [
            str(self.bounded_range_limit),
            ",".join(sorted(catalog.sink_methods)),
            ",".join(sorted(catalog.sink_functions)),
        ]
        for extra in (
            catalog.extra_heartbeats,
            catalog.extra_memory_guards,
            catalog.extra_stall_guards,
        ):
            parts.append(",".join(sorted(extra.functions)) + ";" + ",".join(sorted(extra.methods)))
        return "|".join(parts)
