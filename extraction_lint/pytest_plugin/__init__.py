"""pytest plugin: fail a test when peak memory grows with the input, or passes a limit.

The hooks, the ``memory_scaling`` fixture and the ``memory_limit`` marker are in
:mod:`extraction_lint.pytest_plugin.plugin` (the ``pytest11`` entry point); the runs at each
size in :mod:`~extraction_lint.pytest_plugin.scaling`, which works without pytest too.
"""
