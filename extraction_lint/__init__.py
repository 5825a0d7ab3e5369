"""extraction-lint: unbounded accumulate-then-bulk-write code and unwatched extraction loops."""

__version__ = "0.1.0"
