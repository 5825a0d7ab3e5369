"""``extraction-lint report``: a job's history as one self-contained HTML page of charts.

The charts are inline SVG written by :mod:`.svg` (no script, no library, nothing
fetched when the page is opened), so the page works offline, in a mail attachment
or a CI artifact, and weighs a few tens of kilobytes.
"""
