# A script: the records of RECORDS into the CSV file OUT (both given when it runs).
# ruff: noqa: F821
# fmt: off
import csv

with open(OUT, "w", newline="") as fh:
    writer = csv.writer(fh)
    lines = []
    for rec in iter(RECORDS):
        if rec[0] % 2:
            lines.append((rec[0],
                          rec[1].upper()))  # an odd one, its name in capitals
        else:
            lines.append(rec)
    writer.writerows(lines)
