"""The reference extractor against the incident's way, naive streaming and DuckDB's own floor.

One input set, shaped like the incident's (by default 16 files x 507 subjects x 6,000
float64 samples, 24 MB a file), loaded four ways, each run in a fresh process so that
its peak RSS is its own (``benchmarks/reference_bench_modes.py`` has the loaders):

- ``incident``: every row as Python lists in one list, one ``executemany`` at the end;
- ``executemany``: one ``executemany`` of Python lists per file (naive streaming);
- ``reference``: ``python -m extraction_lint.reference extract`` with its defaults;
- ``floor``: DuckDB's bulk load of the same rows from an uncompressed Parquet file, with
  the reference's DuckDB settings.

``executemany`` is slow, so both executemany modes load only the first
``--executemany-files`` files (2 by default) and their rows/s are compared with the
others'. The benchmark runs in both table layouts, one after the other (``--layout``
picks one): wide, a row per subject (the extractor's default), then long, a row per sample
(``extract --layout long``) in every mode, where the executemany modes load one file of
``--executemany-subjects`` subjects (4 by default: 24,000 rows), their own small input.
The reference also loads 4x the files, to show that its peak RSS does not grow with the
input. Each measurement is repeated ``--repeat`` times; the table shows medians.

Targets, printed as met or missed: the reference within 2x of the floor's throughput,
at least 50x the rows/s of executemany, peak RSS within 20% between 1x and 4x the files.

    python benchmarks/reference_bench.py [--layout both|wide|long] [--files 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from extraction_lint.reference.data import DataShape, make_data
from extraction_lint.reference.extract import read_records
from extraction_lint.reference.store import Layout

MODES_SCRIPT = Path(__file__).resolve().with_name("reference_bench_modes.py")
OUT = Path(__file__).resolve().parent / "out"
MIB = 1024**2


@dataclass(frozen=True)
class Measurement:
    """One run of one mode on one input set."""

    mode: str
    dataset: str
    files: int
    rows: int
    bytes: int
    seconds: float
    peak_rss: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds


def _link_files(source: list[Path], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in source:
        os.link(path, target / path.name)


def write_parquet(data: Path, out: Path, row_group_rows: int, layout: Layout) -> None:
    """The same rows as the pickles, as an uncompressed Parquet file (one file at a time)."""
    writer: pq.ParquetWriter | None = None
    try:
        for path in sorted(data.glob("*.pkl")):
            _, _, records = read_records(path, path.name)
            batch = layout.arrow(records)
            file = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(batch.num_rows, dtype=np.int32)), pa.array([path.name])
            )
            table = pa.Table.from_arrays(
                [file, *batch.columns], names=["file", *batch.column_names]
            )
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="none")
            writer.write_table(table, row_group_size=row_group_rows)
    finally:
        if writer is not None:
            writer.close()


def prepare(
    work: Path, shape: DataShape, subset: DataShape | int, layout: Layout
) -> dict[str, Path]:
    """Input sets: ``subset`` (executemany: the first files, or an input of its own),
    ``base`` (N files), ``large`` (4N files)."""
    large = work / "large"
    print(f"writing {4 * shape.files} input files to {large} ...", flush=True)
    make_data(large, DataShape(4 * shape.files, shape.subjects, shape.length, shape.seed))
    paths = sorted(large.glob("*.pkl"))
    sets = {"subset": work / "subset", "base": work / "base", "large": large}
    if isinstance(subset, DataShape):
        make_data(sets["subset"], subset)
    else:
        _link_files(paths[:subset], sets["subset"])
    _link_files(paths[: shape.files], sets["base"])
    print("writing the Parquet copy for the floor ...", flush=True)
    rows = max(shape.subjects, 1) * (1 if layout is Layout.WIDE else shape.length)
    write_parquet(sets["base"], sets["base"] / "signals.parquet", rows, layout)
    return sets


def measure(mode: str, dataset: str, data: Path, db: Path, layout: Layout) -> Measurement:
    """Run one mode in a fresh process, which reports its own time and peak RSS."""
    for leftover in (db, Path(f"{db}.wal")):
        leftover.unlink(missing_ok=True)
    completed = subprocess.run(
        [sys.executable, str(MODES_SCRIPT), mode, str(data), str(db), "--layout", layout.value],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} on {dataset} failed:\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    for leftover in (db, Path(f"{db}.wal")):
        leftover.unlink(missing_ok=True)
    files = len(list(data.glob("*.pkl")))
    return Measurement(
        mode, dataset, files, result["rows"], result["bytes"], result["seconds"], result["peak_rss"]
    )


PLAN = (
    ("incident", "subset"),
    ("executemany", "subset"),
    ("reference", "subset"),
    ("reference", "base"),
    ("floor", "base"),
    ("reference", "large"),
)


@dataclass(frozen=True)
class Median:
    """Medians over the repeats of one (mode, dataset)."""

    mode: str
    dataset: str
    files: int
    rows: int
    mb: float
    seconds: float
    rows_per_s: float
    mb_per_s: float
    peak_rss_mib: float
    runs: int


def medians(runs: list[Measurement]) -> list[Median]:
    """One :class:`Median` per (mode, dataset), in plan order."""
    found = []
    for mode, dataset in PLAN:
        mine = [run for run in runs if (run.mode, run.dataset) == (mode, dataset)]
        if not mine:
            continue
        found.append(
            Median(
                mode,
                dataset,
                mine[0].files,
                mine[0].rows,
                mine[0].bytes / 1e6,
                statistics.median(run.seconds for run in mine),
                statistics.median(run.rows_per_s for run in mine),
                statistics.median(run.mb_per_s for run in mine),
                statistics.median(run.peak_rss for run in mine) / MIB,
                len(mine),
            )
        )
    return found


def ratios(table: list[Median]) -> dict[str, float]:
    """The comparisons the targets are about."""
    by = {(row.mode, row.dataset): row for row in table}
    ref, ref_large = by[("reference", "base")], by[("reference", "large")]
    ref_subset = by[("reference", "subset")]
    floor = by[("floor", "base")]
    incident, streaming = by[("incident", "subset")], by[("executemany", "subset")]
    return {
        "reference_vs_floor_throughput": ref.mb_per_s / floor.mb_per_s,
        "reference_vs_executemany_rows_per_s": ref.rows_per_s / streaming.rows_per_s,
        "reference_vs_executemany_same_files": ref_subset.rows_per_s / streaming.rows_per_s,
        "reference_vs_incident_rows_per_s": ref.rows_per_s / incident.rows_per_s,
        "reference_peak_rss_large_vs_base": ref_large.peak_rss_mib / ref.peak_rss_mib,
    }


TARGETS = (
    ("reference_vs_floor_throughput", ">=", 0.5, "reference within 2x of the floor's MB/s"),
    ("reference_vs_executemany_rows_per_s", ">=", 50.0, "reference >= 50x executemany rows/s"),
    ("reference_peak_rss_large_vs_base", "<=", 1.2, "peak RSS at 4x files within 20%"),
)


def _met(value: float, op: str, bound: float) -> bool:
    return value >= bound if op == ">=" else value <= bound


def print_report(
    table: list[Median], found: dict[str, float], shape: DataShape, layout: Layout
) -> None:
    print()
    print(
        f"input: {shape.subjects} subjects x {shape.length:,} samples a file "
        f"({shape.file_bytes / 1e6:.1f} MB of float64 a file); {layout.value} layout "
        f"(table {layout.table}); medians of {table[0].runs} runs"
    )
    header = (
        f"{'mode':<12} {'input':<7} {'files':>5} {'rows':>11} {'MB':>8} {'seconds':>8} "
        f"{'rows/s':>11} {'MB/s':>7} {'peak RSS':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in table:
        print(
            f"{row.mode:<12} {row.dataset:<7} {row.files:>5} {row.rows:>11,} {row.mb:>8,.1f} "
            f"{row.seconds:>8.2f} {row.rows_per_s:>11,.0f} {row.mb_per_s:>7.1f} "
            f"{row.peak_rss_mib:>6,.0f} MiB"
        )
    print()
    for name, value in found.items():
        print(f"{name:<44} {value:>10.2f}")
    print()
    for name, op, bound, text in TARGETS:
        verdict = "met" if _met(found[name], op, bound) else "MISSED"
        print(f"target {text:<42} {found[name]:>8.2f} {op} {bound:<5} {verdict}")


def run_layout(args: argparse.Namespace, layout: Layout, out: Path) -> None:
    """The whole benchmark in one layout: input, runs, report, JSON."""
    shape = DataShape(args.files, args.subjects, args.length, seed=0)
    subset: DataShape | int = args.executemany_files
    if layout is Layout.LONG:
        subset = DataShape(1, args.executemany_subjects, args.length, seed=1)
    work = Path(tempfile.mkdtemp(prefix="reference_bench_", dir=args.work))
    started = time.monotonic()
    try:
        sets = prepare(work, shape, subset, layout)
        runs = []
        for repeat in range(args.repeat):
            for mode, dataset in PLAN:
                print(
                    f"{layout.value} layout, run {repeat + 1}/{args.repeat}: {mode} on {dataset}",
                    flush=True,
                )
                db = work / "bench.duckdb"
                runs.append(measure(mode, dataset, sets[dataset], db, layout))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    table = medians(runs)
    found = ratios(table)
    print_report(table, found, shape, layout)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "input": asdict(shape),
                "layout": layout.value,
                "executemany_input": asdict(subset)
                if isinstance(subset, DataShape)
                else {"files": subset},
                "repeat": args.repeat,
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "wall_seconds": time.monotonic() - started,
                "medians": [asdict(row) for row in table],
                "runs": [asdict(run) for run in runs],
                "ratios": found,
                "targets": {
                    name: {"bound": f"{op} {bound}", "met": _met(found[name], op, bound)}
                    for name, op, bound, _ in TARGETS
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nresults written to {out}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--layout",
        choices=["both", *(layout.value for layout in Layout)],
        default="both",
        help="the table layout to load (default: both, one after the other)",
    )
    parser.add_argument("--files", type=int, default=16, help="base input files (default 16)")
    parser.add_argument("--subjects", type=int, default=507, help="subjects a file (507)")
    parser.add_argument("--length", type=int, default=6_000, help="samples a signal (6,000)")
    parser.add_argument(
        "--executemany-files", type=int, default=2, help="files for executemany modes (2)"
    )
    parser.add_argument(
        "--executemany-subjects",
        type=int,
        default=4,
        help="long layout: subjects of the one executemany file (4)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (3)")
    parser.add_argument(
        "--json",
        type=Path,
        help=f"results of one layout (default: {OUT}/reference_bench.json, "
        "reference_bench_long.json)",
    )
    parser.add_argument(
        "--work", type=Path, help="where to write the input (in a new temporary directory)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated input")
    args = parser.parse_args(argv)
    if not 1 <= args.executemany_files <= args.files:
        parser.error("--executemany-files must be between 1 and --files")
    layouts = list(Layout) if args.layout == "both" else [Layout(args.layout)]
    if args.json is not None and len(layouts) > 1:
        parser.error("--json needs one --layout")
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    for layout in layouts:
        suffix = "" if layout is Layout.WIDE else f"_{layout.value}"
        run_layout(args, layout, args.json or OUT / f"reference_bench{suffix}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
