"""Report formats (SPEC 4): text, json, sarif, github.

Each lives in its own module, imported only when chosen (the text format needs rich).
"""

from __future__ import annotations

from extraction_lint.reporters.base import Reporter, Summary

FORMATS = ("text", "json", "sarif", "github")

__all__ = ["FORMATS", "Reporter", "Summary"]
