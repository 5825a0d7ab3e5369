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

from .data import PRESETS, DataShape, make_data
from .errors import ExtractorError, InputFileError, SetupError
from .extract import ExtractOptions, ExtractSummary, GuardSettings, OnError, run_extract
from .unpickle import RefusedGlobal, RestrictedUnpickler, read_pickle

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
