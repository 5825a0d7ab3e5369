"""Report formats (SPEC 4): text, json, sarif, github."""

from __future__ import annotations

from extraction_lint.reporters.base import Reporter, Summary
from extraction_lint.reporters.github import GithubReporter
from extraction_lint.reporters.json import JsonReporter
from extraction_lint.reporters.sarif import SarifReporter
from extraction_lint.reporters.text import TextReporter

FORMATS = ("text", "json", "sarif", "github")

__all__ = [
    "FORMATS",
    "GithubReporter",
    "JsonReporter",
    "Reporter",
    "SarifReporter",
    "Summary",
    "TextReporter",
]
