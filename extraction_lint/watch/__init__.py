"""``extraction-lint watch`` and ``extraction-lint status``: a job seen from outside.

``watch`` reads a running process (and its children) at an interval, judges the
readings (:mod:`.verdicts`) and stops the job when asked; ``status`` lists the jobs
running under ``guard(...)`` on this machine from their status records.
Both need psutil (``pip install psutil``, or the ``watch`` extra from a clone).
"""
