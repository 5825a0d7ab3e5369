"""``python -m extraction_lint``: the same as the ``extraction-lint`` command."""

from extraction_lint.cli import main

raise SystemExit(main())
