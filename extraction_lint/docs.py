"""Rule pages: ``rules/CODE.md`` generated from the rule modules.

``python -m extraction_lint.docs [DIR]`` writes one page per rule into DIR (default
``rules``) and removes pages of rules that no longer exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from extraction_lint.rules import ALL_RULES


def rule_pages() -> dict[str, str]:
    """File name -> Markdown text, for every rule."""
    return {f"{rule.code}.md": rule.documentation() for rule in ALL_RULES}


def write_rule_pages(directory: Path) -> list[Path]:
    """Write every rule page into ``directory``; return the files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = rule_pages()
    changed: list[Path] = []
    for name, text in pages.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in directory.glob("EXL*.md"):
        if stale.name not in pages:
            stale.unlink()
            changed.append(stale)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Regenerate the rule pages."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0] if args else "rules")
    for path in write_rule_pages(directory):
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
