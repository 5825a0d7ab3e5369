"""``python -m extraction_lint.reference``."""

from .cli import main

raise SystemExit(main())
