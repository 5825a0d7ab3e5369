# A script: the records of RECORDS into the CSV file OUT (both given when it runs).
# ruff: noqa: F821
import csv

with open(OUT, "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["id", "name"])
    lines = []
    for rec in iter(RECORDS):
        lines.append(rec)
    writer.writerows(lines)
