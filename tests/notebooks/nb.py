"""Notebooks for the tests, written as Jupyter writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def code(*lines: str, outputs: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A code cell with ``lines`` as its source (a list of lines, as nbformat keeps it)."""
    source = [line + "\n" for line in lines]
    if source:
        source[-1] = source[-1][:-1]  # Jupyter saves the last line without a line break
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": extra,
        "outputs": outputs or [],
        "source": source,
    }


def markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def notebook(*cells: dict[str, Any], language: str = "python") -> dict[str, Any]:
    return {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": language, "name": "python3"},
            "language_info": {"name": language},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def save(path: Path, nb: dict[str, Any], *, indent: int = 1, ascii: bool = False) -> Path:
    """As Jupyter saves (``indent=1``, UTF-8, a final newline), or another layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=indent, ensure_ascii=ascii) + "\n", encoding="utf-8")
    return path


#: The incident's shape across cells: the list grows in cell 3, is written whole in cell 5.
ACCUMULATE = notebook(
    markdown("# Extract the signals"),
    code("%matplotlib inline", "import pickle", "!ls data", "files = !ls data/*.pkl"),
    code("rows = []", "for path in files:", '    rows.extend(pickle.load(open(path, "rb")))'),
    code("%%bash", "echo this is not Python", "for x in"),
    code('con.executemany("INSERT INTO t VALUES (?)", rows)', "total = (1", "         % 2)"),
)

#: A loop with an automatic fix (EXL101: wrap the iterable in ``track``).
FIXABLE = notebook(
    code('"""Load the signal files."""', "import pickle", "%load_ext autoreload", "import duckdb"),
    markdown("Notes: caf\u00e9"),
    code(
        "def main(paths, con):",
        "    for path in sorted(paths):",
        '        rows = pickle.load(open(path, "rb"))  # caf\u00e9',
        '        con.executemany("INSERT INTO t VALUES (?)", rows)',
        outputs=[{"name": "stdout", "output_type": "stream", "text": ["loaded\n"]}],
        tags=["keep"],
    ),
)
