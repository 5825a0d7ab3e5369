"""The reference streaming extractor: signal pickles into DuckDB, the compliant way.

The incident's job (136 pickle files x 507 subjects of numpy signals, 13.4 GB in one
list for one ``executemany`` at the end) written as a tool users can run and copy:

- ``python -m extraction_lint.reference make-data DIR`` writes a synthetic input set
  (:mod:`.data`);
- ``python -m extraction_lint.reference extract DIR --db FILE`` loads it
  (:mod:`.extract`): one file at a time through a restricted unpickler
  (:mod:`.unpickle`), checked (:mod:`.records`), written in bounded Arrow batches with a
  manifest row in one transaction per file (:mod:`.store`), under ``guard(...)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import PRESETS, DataShape, make_data
    from .errors import ExtractorError, InputFileError, SetupError
    from .extract import ExtractOptions, ExtractSummary, GuardSettings, OnError, run_extract
    from .unpickle import RefusedGlobal, RestrictedUnpickler, read_pickle

# Imported when first used: ``python -m extraction_lint.reference`` imports this package
# before its ``__main__`` can install the signal handlers, and numpy, DuckDB and pyarrow
# take a while to import.
_SOURCES = {
    "PRESETS": "data",
    "DataShape": "data",
    "make_data": "data",
    "ExtractorError": "errors",
    "InputFileError": "errors",
    "SetupError": "errors",
    "ExtractOptions": "extract",
    "ExtractSummary": "extract",
    "GuardSettings": "extract",
    "OnError": "extract",
    "run_extract": "extract",
    "RefusedGlobal": "unpickle",
    "RestrictedUnpickler": "unpickle",
    "read_pickle": "unpickle",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "PRESETS",
    "DataShape",
    "ExtractOptions",
    "ExtractSummary",
    "ExtractorError",
    "GuardSettings",
    "InputFileError",
    "OnError",
    "RefusedGlobal",
    "RestrictedUnpickler",
    "SetupError",
    "make_data",
    "read_pickle",
    "run_extract",
]
