"""EXL101 extraction-loop-without-heartbeat (SPEC 2.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from extraction_lint.analysis.catalog import GUARDRAILS_MODULE, canonical_guardrails_name
from extraction_lint.rules.base import FixSpec
from extraction_lint.rules.guarded_loop import GuardedLoopRule, iterable_text

if TYPE_CHECKING:
    from extraction_lint.analysis.guards import LoopGuards
    from extraction_lint.analysis.model import Loop
    from extraction_lint.analysis.module import ModuleAnalysis

TRACK = f"{GUARDRAILS_MODULE}.track"
#: The name the fix imports ``track`` under when ``track`` already means something else.
TRACK_ALIAS = "guardrails_track"


def _is_async(loop: Loop) -> bool:
    """Whether the loop is an ``async for``."""
    import libcst as cst

    return isinstance(loop.node, cst.For) and loop.node.asynchronous is not None


def _enclosing_guard(analysis: ModuleAnalysis, loop: Loop) -> str | None:
    """The name of a ``with guard(...) as g`` around the loop, if there is one."""
    import libcst as cst

    for item in reversed(loop.enclosing_withs):
        if (
            isinstance(item.target, cst.Name)
            and isinstance(item.expr, cst.Call)
            and analysis.resolve(item.expr.func) == f"{GUARDRAILS_MODULE}.guard"
        ):
            return item.target.value
    return None


def track_name(analysis: ModuleAnalysis) -> tuple[str, str | None]:
    """The name to call the guardrails' ``track`` by in this module, and the import line
    to add (None when it is imported already)."""
    imports = analysis.imports
    for local, target in imports.imports.items():
        if canonical_guardrails_name(target) == TRACK:
            return local, None
    if "track" not in imports.imports and "track" not in imports.bound:
        return "track", f"from {GUARDRAILS_MODULE} import track"
    return TRACK_ALIAS, f"from {GUARDRAILS_MODULE} import track as {TRACK_ALIAS}"


class ExtractionLoopWithoutHeartbeat(GuardedLoopRule):
    code = "EXL101"
    name = "extraction-loop-without-heartbeat"
    summary = "A loop that loads or writes data reports no progress."
    missing = "heartbeat"
    what_it_does = """
Reports an *extraction loop* that reports no progress. An extraction loop is an unbounded
`for`, `async for` or `while` loop whose header or body (nested statements included, and
the project's functions it calls) calls a loader (`pickle.load`, `numpy.load`,
`pandas.read_*`, `json.load`, `fetchall`/`fetchmany`/`fetchone`/`fetchdf`, ...) or a bulk
write (`executemany`, `to_parquet`, `json.dump`, ...). In a nest, only the outermost
extraction loop is checked, and a heartbeat anywhere inside it counts.

A heartbeat is any of:

- a progress iterator anywhere in the iterable of the loop (or of a `for` loop nested in
  it): `tqdm(...)` (and `tqdm.auto`, `tqdm.notebook`, `trange`), `rich.progress.track(...)`,
  `alive_progress.alive_it(...)`, `extraction_lint.guardrails.track(...)`, or any
  `<x>.track(...)` (`enumerate(tqdm(paths))` counts, and so does iterating a name bound to
  one: `bar = tqdm(paths)` / `for path in bar:`). A `.track(...)` call in the body that is
  not an iterable (an analytics event) does not count;
- `.update(...)`/`.advance(...)` on an object made by `tqdm`, `rich.progress.Progress` or
  `ProgressTracker`; `.heartbeat(...)` or `.tick(...)` on anything;
- a log call that is not inside an `except` handler of the loop's body: `print` (also
  `rich.print`), `click.echo`, `sys.stdout.write`, `sys.stderr.write`, `logging.<level>(...)`
  (also `from logging import info`), `<console>.print/.log(...)` on a `rich.console.Console`,
  or `<logger>.<level>(...)` where the logger is bound to `logging.getLogger(...)` or named
  `log`, `logger`, `LOG`, `LOGGER`, `_log`, `_logger` (bare or as `self.` attribute), and
  `<level>` is `debug`, `info`, `warning`, `warn`, `error`, `critical`, `exception` or
  `log`. Logging under `if i % N == 0:` counts; a message printed only when an item fails
  does not.

What a name is bound to is looked up in the function that uses it, then in the functions
around it and the module; `self.x` in any method of the class.

Not checked (here and by EXL102 and EXL103): loops whose function hands its work to a
caller, whose own loop is then the extraction loop that owns the guards:

- loops in a generator function (its body holds `yield` or `yield from`, also `async`):
  each item goes to the consumer;
- loops in a function or method that implements a loader, a sink or the iteration
  protocol: its name is exactly a loader or sink method name of the catalogue
  (`fetchall`, `fetchmany`, `fetchone`, `fetchdf`, `executemany`, `writerows`,
  `to_parquet`, ..., and names added by `extend-sink-methods`) or `__iter__`, `__next__`,
  `__aiter__`, `__anext__`. `append` and `execute` do not count (they name jobs too, such
  as an Airflow operator's `execute`), nor do names that merely end in a loader's word
  (`load`, `save`, `fetch_all`).

- loops in a function that is called only from inside extraction loops: every call of it
  sits in one (a call in a `while` test sits in that loop; a call in a `for` header only
  when the callee is a generator function), or in a function that is itself only called
  that way. Its loops are part of the caller's nest, whose outermost loop is checked. A
  function that is never called, or also called outside such loops, is checked on its own.

Only the function that holds the loop directly counts: a function nested in a generator is
checked when it is not a generator itself.
"""
    why_bad = """
A long job that prints nothing cannot be told apart from a stuck one. The job this tool was
written after ran 21 hours at 99% CPU, swapping, and nobody could see that it had stopped
making progress.
"""
    example = """
for path in paths:
    frame = pd.read_parquet(path)
    frame.to_sql("t", con, if_exists="append")
"""
    use_instead = """
from extraction_lint.guardrails import guard

with guard(total=len(paths), label="load", heartbeat_every=30) as g:
    for path in g.track(paths):
        frame = pd.read_parquet(path)
        frame.to_sql("t", con, if_exists="append")
"""
    known_problems = """
The calls that decide whether a function is called only from inside extraction loops are
those made in the files of the run: when pre-commit passes only the helper's file, its
callers are not in the run and its loop is checked on its own, and a caller in a module
the run imports but does not check is not seen. Every file of the run that names the
function is read for its calls; a name that more than 64 files use (`run`, `get` in a
large code base) leaves the loop checked on its own.

Calls of the project's own functions are followed (a helper that loads makes the loop an
extraction loop, a helper that logs is its heartbeat); calls through other receivers,
`getattr` or functions passed around as values are not. A `print` that runs only on some
iterations counts as long as it is outside an `except` handler.

Automatic fix (`--fix`, `--diff`): for a `for` loop, the iterable is wrapped in `track(...)`
from `extraction_lint.guardrails` (a heartbeat line every 30 seconds) and the import is
added after the module's imports. The job then needs extraction-lint installed where it
runs. An `async for` loop is fixed the same way (`track(...)` takes async iterables);
`while` loops have no automatic fix.
"""
    options = """
- `extend-heartbeat-calls`: more heartbeats, as qualified function names
  (`mylib.progress.report`) or method names with a leading dot (`.ping`).
"""
    valid = (
        # SPEC 2.5: a progress bar entered on an `ExitStack` is the bar itself.
        """
from contextlib import ExitStack

from tqdm import tqdm

with ExitStack() as stack:
    bar = stack.enter_context(tqdm(total=len(paths)))
    for path in paths:
        con.execute("INSERT INTO t SELECT * FROM read_parquet(?)", [path])
        con.executemany(SQL, load(path))
        bar.update(1)
""",
        # SPEC 2.6 and 2.5: the caller's loop loads through `load_subject`, so it is the
        # extraction loop (its tqdm is the heartbeat) and the helper's loop is part of it.
        """
import numpy as np
from tqdm import tqdm

def load_subject(subject_dir):
    for path in subject_dir.glob("*.npy"):
        con.append("signals", to_frame(np.load(path)))

for subject_dir in tqdm(subject_dirs):
    load_subject(subject_dir)
""",
        # SPEC 2.6: a project function called in the loop that logs is its heartbeat.
        """
import json

def report(i, total):
    print(f"{i}/{total}")

for i, path in enumerate(paths):
    with open(path, "w") as fh:
        json.dump(records_for(path), fh)
    report(i, len(paths))
""",
        # SPEC 2.5: the iterable wrapped by `tqdm(...)`.
        """
from tqdm import tqdm
import pickle

for path in tqdm(paths):
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: `import tqdm` and `tqdm.tqdm(...)` around the iterable.
        """
import tqdm
import pandas as pd

for path in tqdm.tqdm(csv_paths, desc="csv"):
    frame = pd.read_csv(path)
    frame.to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `tqdm` imported from `tqdm.auto`.
        """
from tqdm.auto import tqdm
import numpy as np

for path in tqdm(npy_paths):
    signal = np.load(path)
    con.append("signals", to_frame(signal))
""",
        # SPEC 2.5: `tqdm.auto.tqdm(...)` spelled in full.
        """
import tqdm.auto
import joblib

for model_path in tqdm.auto.tqdm(model_paths):
    model = joblib.load(model_path)
    scores.append(model.score(X_test, y_test))
""",
        # SPEC 2.5: a progress iterator anywhere in the iterable: `enumerate(tqdm(paths))`.
        """
import pickle
from tqdm import tqdm

for i, path in enumerate(tqdm(pickle_paths)):
    with open(path, "rb") as fh:
        subjects = pickle.load(fh)
    con.executemany(INSERT_SQL, subjects)
""",
        # SPEC 2.5: `pbar = tqdm(total=n)` made outside the loop, `pbar.update(...)` in it.
        """
from tqdm import tqdm

pbar = tqdm(total=n_rows, unit="rows")
while rows := cur.fetchmany(5000):
    out.executemany(INSERT_SQL, rows)
    pbar.update(len(rows))
""",
        # SPEC 2.5: `rich.progress.track(...)` around the iterable.
        """
from rich.progress import track
import polars as pl

for path in track(parquet_paths, description="Loading..."):
    frame = pl.read_parquet(path)
    frame.write_database("events", connection=uri, if_table_exists="append")
""",
        # SPEC 2.5: `progress.advance(task)` on a rich `Progress`.
        """
import h5py
from rich.progress import Progress

with Progress() as progress:
    task = progress.add_task("recordings", total=len(h5_paths))
    for path in h5_paths:
        with h5py.File(path, "r") as f:
            con.append("recordings", to_frame(f["data"][:]))
        progress.advance(task)
""",
        # SPEC 2.5: `progress.update(task, advance=1)` on a `rich.progress.Progress()`.
        """
import rich.progress
import torch

progress = rich.progress.Progress()
task = progress.add_task("checkpoints", total=len(ckpt_paths))
with progress:
    for ckpt in ckpt_paths:
        state = torch.load(ckpt, map_location="cpu")
        summarize(state)
        progress.update(task, advance=1)
""",
        # SPEC 2.5: rich's `Progress.track(...)` is a heartbeat.
        """
from rich.progress import Progress
import json

with Progress() as progress:
    for path in progress.track(json_paths, description="configs"):
        with open(path) as fh:
            configs.append(json.load(fh))
""",
        # SPEC 2.5: `alive_progress.alive_it(...)` around the iterable.
        """
from alive_progress import alive_it
import joblib

for path in alive_it(feature_paths):
    features = joblib.load(path)
    features.to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `.update(...)` on the guardrails' `ProgressTracker`.
        """
import numpy as np
from extraction_lint.guardrails import ProgressTracker

tracker = ProgressTracker(total=len(paths), label="npz")
for path in paths:
    with np.load(path) as npz:
        con.append("signals", npz_to_frame(npz))
    tracker.update(1)
""",
        # SPEC 2.5: `.heartbeat()` on any object.
        """
for batch in consumer:
    rows = [decode(msg) for msg in batch]
    cur.executemany(INSERT_SQL, rows)
    watchdog.heartbeat()
""",
        # SPEC 2.5: `logging.info(...)` under `if i % N == 0:` still counts.
        """
import logging
import pickle

for i, path in enumerate(paths):
    rows = pickle.loads(path.read_bytes())
    con.executemany(INSERT_SQL, rows)
    if i % 100 == 0:
        logging.info("loaded %d/%d files", i, len(paths))
""",
        # SPEC 2.5: a logger bound to `logging.getLogger(__name__)`.
        """
import logging
import json

logger = logging.getLogger(__name__)

for path in manifest_paths:
    with open(path) as fh:
        manifest = json.load(fh)
    logger.debug("read %s (%d entries)", path, len(manifest))
""",
        # SPEC 2.5: a logger spelled `log` counts whatever made it.
        """
import structlog
import pandas as pd

log = structlog.get_logger()

for path in excel_paths:
    sheet = pd.read_excel(path)
    sheet.to_sql("budget", engine, if_exists="append", index=False)
    log.info("loaded sheet", path=str(path), rows=len(sheet))
""",
        # SPEC 2.5: a logger with another name bound to `logging.getLogger(...)`.
        """
import logging
import pandas as pd

audit = logging.getLogger("etl.audit")

for path in parquet_paths:
    pd.read_parquet(path).to_sql("facts", engine, if_exists="append")
    audit.log(logging.INFO, "loaded %s", path)
""",
        # SPEC 2.5: `self.logger.info(...)` in a method.
        """
import logging
import polars as pl

class EventLoader:
    def __init__(self, paths):
        self.paths = paths
        self.logger = logging.getLogger(type(self).__name__)

    def run(self):
        for path in self.paths:
            frame = pl.scan_parquet(path).collect()
            self.logger.info("loaded %s: %d rows", path, frame.height)
""",
        # SPEC 2.5: `print` in the `else` of a `try` is outside the `except` handler.
        """
import numpy as np

for path in raw_paths:
    try:
        samples = np.fromfile(path, dtype=np.int16)
    except OSError as exc:
        errors.append((path, exc))
    else:
        print(f"{path}: {samples.size} samples")
""",
        # SPEC 2.5: `sys.stderr.write(...)` is a log line.
        """
import sys
import pyarrow.parquet as pq

for n, path in enumerate(part_paths, 1):
    table = pq.read_table(path)
    writer.write_table(table)
    sys.stderr.write(f"{n}/{len(part_paths)} parts")
""",
        # SPEC 2.5: `click.echo(...)` is a log line.
        """
import click
import pandas as pd

@click.command()
@click.argument("paths", nargs=-1)
def load(paths):
    for path in paths:
        frame = pd.read_json(path, lines=True)
        frame.to_sql("events", ENGINE, if_exists="append")
        click.echo(f"loaded {path}")
""",
        # SPEC 2.5: standalone `track(...)` from the guardrails is a heartbeat.
        """
from extraction_lint.guardrails import track
import pickle

for path in track(pickle_paths, label="subjects"):
    with open(path, "rb") as fh:
        con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.5: `g.track(...)` with `g` from `with gr.guard(...) as g:` (module import).
        """
import extraction_lint.guardrails as gr
import pandas as pd

with gr.guard(total=len(paths), label="csv", memory_limit="2 GiB") as g:
    for path in g.track(paths):
        pd.read_csv(path).to_sql("raw", engine, if_exists="append")
""",
        # SPEC 2.5: `g.tick(...)` in the body of a walrus `while` loop.
        """
from extraction_lint.guardrails import guard

with guard(label="copy", stall_timeout="5m") as g:
    while chunk := src.fetchmany(10_000):
        dst.executemany(INSERT_SQL, chunk)
        g.tick(rows=len(chunk))
""",
        # SPEC 2.1: in a nest, a heartbeat in the inner loop counts for the outermost.
        """
import logging
import pandas as pd

logger = logging.getLogger(__name__)

for path in csv_paths:
    for chunk in pd.read_csv(path, chunksize=100_000):
        chunk.to_sql("trips", engine, if_exists="append")
        logger.info("%s: +%d rows", path, len(chunk))
""",
        # SPEC 2.1: `Path.read_text` is not a loader: not an extraction loop.
        """
from pathlib import Path

for path in Path("sql").glob("*.sql"):
    statements.append(path.read_text())
""",
        # SPEC 2.1: `open(p).read()` and `json.loads` are not loaders.
        """
import json

for path in config_paths:
    config = json.loads(open(path).read())
    jobs[config["name"]] = config
""",
        # SPEC 2.1: a loop over a tuple display is bounded, never an extraction loop.
        """
import pandas as pd

for table in ("customers", "orders", "invoices"):
    frame = pd.read_sql_table(table, engine)
    frame.to_parquet(f"export/{table}.parquet")
""",
        # SPEC 2.1: `range(10)` is bounded.
        """
import numpy as np

for shard in range(10):
    arr = np.load(f"shards/part-{shard:02d}.npy")
    np.save(f"shards/norm-{shard:02d}.npy", arr / arr.max())
""",
        # SPEC 2.1: a module-level constant bound once to a list display is bounded.
        """
import polars as pl

SOURCES = ["stations.csv", "routes.csv", "fares.csv"]

for name in SOURCES:
    pl.read_csv(f"raw/{name}").write_parquet(f"clean/{name}.parquet")
""",
        # SPEC 2.1: a comprehension is an expression, not a loop.
        """
import pandas as pd

frames = [pd.read_parquet(p) for p in parquet_paths]
combined = pd.concat(frames)
""",
        # SPEC 2.1: `execute(sql, params)` with a per-row tuple is not a sink.
        """
import csv

with open("users.csv", newline="") as fh:
    for row in csv.DictReader(fh):
        cur.execute("INSERT INTO users VALUES (%s, %s)", (row["id"], row["email"]))
""",
        # SPEC 2.1: `list.append(x)` is not the DuckDB `append("table", x)` sink.
        """
for record in api.paginate("/orders"):
    rows.append(normalize(record))
""",
        # SPEC 2.5: `pbar.update(...)` on a `with tqdm(total=...) as pbar:` bar.
        """
from tqdm import tqdm
import pandas as pd

with tqdm(total=len(sheet_paths), unit="sheet") as pbar:
    for path in sheet_paths:
        pd.read_excel(path).to_sql("budget", engine, if_exists="append")
        pbar.update(1)
""",
        # SPEC 2.5: `pbar = tqdm.tqdm(total=n)` through `import tqdm`.
        """
import tqdm

pbar = tqdm.tqdm(total=expected_rows)
while rows := cur.fetchmany(2_000):
    dst.executemany(INSERT_SQL, rows)
    pbar.update(len(rows))
""",
        # SPEC 2.5: a progress iterator anywhere in the iterable: inside `zip(...)`.
        """
from tqdm import tqdm
import numpy as np

for path, subject in zip(tqdm(npy_paths), subject_ids):
    con.append("signals", to_frame(subject, np.load(path)))
""",
        # SPEC 2.5: `tqdm` imported from `tqdm.auto` under another name.
        """
from tqdm.auto import tqdm as progress_bar
import pickle

for path in progress_bar(pickle_paths):
    with open(path, "rb") as fh:
        con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.1: a progress iterator in an inner loop's header counts for the outermost.
        """
from tqdm import tqdm
import pandas as pd

for path in csv_paths:
    for chunk in tqdm(pd.read_csv(path, chunksize=100_000), desc=path.name):
        chunk.to_sql("trips", engine, if_exists="append")
""",
        # SPEC 2.5: a module-level `LOGGER` and `LOGGER.warning(...)`.
        """
import logging
import joblib

LOGGER = logging.getLogger("features")

for path in feature_paths:
    frame = joblib.load(path)
    frame.to_parquet(path.with_suffix(".parquet"))
    LOGGER.warning("converted %s", path)
""",
        # SPEC 2.5: `self._log.debug(...)`: `_log` as a `self.` attribute.
        """
import polars as pl

class Exporter:
    def export(self, paths):
        for path in paths:
            pl.read_parquet(path).write_csv(path.with_suffix(".csv"))
            self._log.debug("exported %s", path)
""",
        # SPEC 2.5: a parameter spelled `logger`.
        """
import json

def dump_tenants(tenants, logger):
    for tenant in tenants:
        with open(f"out/{tenant.id}.json", "w") as fh:
            json.dump(tenant.records(), fh)
        logger.info("dumped %s", tenant.id)
""",
        # SPEC 2.5: `sys.stdout.write(...)` is a log line.
        """
import sys
import h5py

for path in h5_paths:
    with h5py.File(path, "r") as f:
        con.append("frames", to_frame(f["frames"][:]))
    sys.stdout.write(f"{path}\\n")
""",
        # SPEC 2.1: iterating a cursor calls no loader: not an extraction loop.
        """
cur.execute("SELECT id, email FROM users")
for user_id, email in cur:
    out.write(f"{user_id},{email}\\n")
""",
        # SPEC 2.1: `range(0, 100_000, 100)` is exactly 1000 steps: bounded.
        """
for offset in range(0, 100_000, 100):
    rows = cur.execute(PAGE_SQL, (offset,)).fetchall()
    out.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.1: `reversed(sorted(...))` of a list display is bounded.
        """
import pandas as pd

for quarter in reversed(sorted(["q1", "q2", "q3", "q4"])):
    pd.read_parquet(f"sales/{quarter}.parquet").to_sql("sales", engine, if_exists="append")
""",
        # SPEC 2.5: `self.pbar = tqdm(...)` made in `__init__`, `self.pbar.update(1)` in a method.
        """
from tqdm import tqdm
import pickle

class SubjectLoader:
    def __init__(self, paths):
        self.paths = paths
        self.pbar = tqdm(total=len(paths), unit="file")

    def run(self, con):
        for path in self.paths:
            con.executemany(INSERT_SQL, pickle.load(open(path, "rb")))
            self.pbar.update(1)
""",
        # SPEC 2.5: `logging` imported under an alias: `lg.info(...)` is `logging.info(...)`.
        """
import logging as lg
import pandas as pd

for path in csv_paths:
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
    lg.info("converted %s", path)
""",
        # SPEC 2.1: `.items()` of a module-level dict constant is bounded.
        """
import pandas as pd

QUERIES = {"users": "SELECT * FROM users", "orders": "SELECT * FROM orders"}

for name, sql in QUERIES.items():
    pd.read_sql(sql, engine).to_parquet(f"export/{name}.parquet")
""",
        # SPEC 2.5: rich's drop-in `print` logs a line like the builtin.
        """
from rich import print
import joblib

for path in model_paths:
    joblib.load(path).to_parquet(path.with_suffix(".parquet"))
    print(f"[green]converted[/green] {path}")
""",
        # SPEC 2.5: `logging.<level>` through `from logging import info`.
        """
from logging import info
import pandas as pd

for path in csv_paths:
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
    info("converted %s", path)
""",
        # SPEC 2.5: a loop that itself runs in an `except` handler logs progress outside any handler.
        """
import pandas as pd

try:
    frames = load_cache()
except FileNotFoundError:
    for path in csv_paths:
        pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
        print("rebuilt", path)
""",
        # SPEC 2.5: iterating a name bound to a progress iterator.
        """
from tqdm import tqdm
import pickle

bar = tqdm(paths, unit="file")
for path in bar:
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: a rich console's `.log(...)` writes a line.
        """
from rich.console import Console
import pandas as pd

console = Console(stderr=True)
for path in csv_paths:
    pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
    console.log("converted", path)
""",
        # SPEC 2.1 Loader: a pickle round trip in memory (a deep copy) loads no data.
        """
import pickle

for proto in range(pickle.HIGHEST_PROTOCOL + 1):
    copy = pickle.loads(pickle.dumps(config, proto))
    assert copy == config
""",
        # SPEC 2.1 Loader: the same round trip through a name.
        """
import pickle

for proto in protocols:
    blob = pickle.dumps(model, proto)
    restored = pickle.loads(blob)
""",
        # SPEC 2.5: a loop in a generator function hands each chunk to the consumer.
        """
def iter_chunks(cur, size=10_000):
    while True:
        rows = cur.fetchmany(size)
        if not rows:
            return
        yield rows
""",
        # SPEC 2.5: `yield from` makes a generator function too.
        """
import pickle


def iter_subjects(paths):
    for path in paths:
        with open(path, "rb") as fh:
            yield from pickle.load(fh)
""",
        # SPEC 2.5: an async generator function.
        """
async def stream_batches(cur):
    while batch := await cur.fetchmany(500):
        yield [tuple(r) for r in batch]
""",
        # SPEC 2.5: a method that implements `fetchall` on top of `fetchmany`.
        """
class PagedCursor:
    def fetchall(self):
        rows = []
        while True:
            page = self.fetchmany(self.arraysize)
            if not page:
                break
            rows.extend(page)
        return rows
""",
        # SPEC 2.5: a method that implements `executemany` in batches.
        """
class BatchingCursor:
    def executemany(self, sql, rows):
        for chunk in batched(rows, 1_000):
            self._cursor.executemany(sql, chunk)
""",
        # SPEC 2.5: a function named after a sink method (`to_parquet`) implements it.
        """
import pyarrow.parquet as pq


def to_parquet(tables, path):
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for table in tables:
            writer.write_table(table)
            pq.write_table(table, path.with_suffix(".bak"))
""",
        # SPEC 2.5: `__next__` of the iteration protocol, not a generator.
        """
class Rows:
    def __next__(self):
        while True:
            row = self._cur.fetchone()
            if row is None:
                raise StopIteration
            if row[0] is not None:
                return row
""",
        # SPEC 2.5: `__iter__` and `__anext__` of the iteration protocol.
        """
class Pages:
    def __iter__(self):
        return iter(self._cur.fetchall())

    async def __anext__(self):
        while True:
            page = await self._cur.fetchmany(100)
            if page:
                return page
            raise StopAsyncIteration
""",
        # SPEC 2.5: a function called only from inside an extraction loop is part of its nest.
        """
import pickle


def load_subject(folder):
    rows = []
    for part in folder.glob("*.pkl"):
        rows.extend(pickle.load(open(part, "rb")))
    return rows


with guard(label="subjects") as g:
    for folder in g.track(folders):
        con.executemany("INSERT INTO s VALUES (?, ?)", load_subject(folder))
""",
        # SPEC 2.5: a call in a `while` test sits in that loop; transitively, and methods.
        """
class Copier:
    def next_batch(self, cur):
        out = []
        while len(out) < 500:
            row = cur.fetchone()
            if row is None:
                break
            out.append(self.convert(row))
        return out

    def drain(self, cur):
        return self.next_batch(cur)

    def run(self, cur, dst):
        with guard(label="copy") as g:
            while batch := self.drain(cur):
                dst.executemany("INSERT INTO t VALUES (?, ?)", batch)
                g.tick(rows=len(batch))
""",
        # SPEC 2.5: a helper called only from inside an extraction loop is part of its nest:
        # the caller's tqdm is its heartbeat.
        """
import numpy as np
from tqdm import tqdm

def load_subject(subject_dir):
    for path in subject_dir.glob("*.npy"):
        con.append("signals", to_frame(np.load(path)))

for subject_dir in tqdm(subject_dirs):
    load_subject(subject_dir)
""",
    )
    invalid = (
        # SPEC 2.5: a lambda that yields is a generator of its own; the function that holds
        # it is not one, and its loop is checked.
        """
def drain(cur, keep):
    skip = lambda: (yield)
    while batch := cur.fetchmany(1000):  # EXL101
        keep(batch)
""",
        # SPEC 2.6: a nested function that loads makes the loop that calls it an extraction
        # loop of its enclosing function.
        """
def count_rows(con, days):
    def fetch(day):
        return con.execute("SELECT * FROM t WHERE day = ?", (day,)).fetchall()

    total = 0
    for day in days:  # EXL101
        total += len(fetch(day))
    return total
""",
        # SPEC 2.6: a loop that calls a project function that loads is an extraction loop.
        """
import pickle

def load_subject(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)

for path in subject_paths:  # EXL101
    subjects.append(load_subject(path))
""",
        # SPEC 2.1: a `pandas.read_*` loader imported under another name is a loader.
        """
from pandas import read_parquet as rp

def load_all(paths):
    for path in paths:  # EXL101
        frame = rp(path)
        frame.info()
""",
        # SPEC 2.5: a plain extraction loop with no heartbeat.
        """
import pickle

for path in paths:  # EXL101
    data = pickle.load(open(path, "rb"))
""",
        # SPEC 2.5: a `print` only inside an `except` handler is not a heartbeat.
        """
import pickle

for path in pickle_paths:  # EXL101
    try:
        with open(path, "rb") as fh:
            rows = pickle.load(fh)
    except (EOFError, pickle.UnpicklingError) as exc:
        print(f"skipping {path}: {exc}")
        continue
    con.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.5: `logger.exception(...)` only inside an `except` handler.
        """
import logging
import pandas as pd

logger = logging.getLogger(__name__)

for path in csv_paths:  # EXL101
    try:
        pd.read_csv(path).to_sql("raw", engine, if_exists="append")
    except Exception:
        logger.exception("failed on %s", path)
""",
        # SPEC 2.1: `while True:` around `fetchmany` is an extraction loop.
        """
cur.execute("SELECT * FROM events")
while True:  # EXL101
    rows = cur.fetchmany(1000)
    if not rows:
        break
    out.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.1: the header counts: `while chunk := cur.fetchmany(n):`.
        """
while chunk := cur.fetchmany(50_000):  # EXL101
    writer.writerows(chunk)
""",
        # SPEC 2.1: an `async for` loop writing through a sink.
        """
async def copy_events(source, pool):
    async with pool.acquire() as conn:
        async for batch in source.batches(size=5_000):  # EXL101
            await conn.executemany(INSERT_SQL, batch)
""",
        # SPEC 2.1: in a nest of extraction loops only the outermost is reported.
        """
import pandas as pd

for path in csv_paths:  # EXL101
    for chunk in pd.read_csv(path, chunksize=100_000):
        chunk.to_parquet(out_dir / f"{path.stem}-{chunk.index[0]}.parquet")
""",
        # SPEC 2.1: a bounded outer loop around an unbounded one: the inner one is reported.
        """
import pandas as pd

for table in ("orders", "order_items"):
    for chunk in pd.read_sql_table(table, engine, chunksize=50_000):  # EXL101
        chunk.to_parquet(f"export/{table}/{chunk.index[0]}.parquet")
""",
        # SPEC 2.1: a log line in the bounded outer loop is outside the extraction loop.
        """
import logging
import polars as pl

log = logging.getLogger("export")

for region in ("eu", "us", "apac"):
    log.info("exporting %s", region)
    for path in list_partitions(region):  # EXL101
        pl.read_parquet(path).write_csv(f"out/{region}/{path.stem}.csv")
""",
        # SPEC 2.6: a function called in the loop whose body logs is a heartbeat of it;
        # a call through another receiver (`obj.report`) is not followed.
        """
import json

def report(i, total):
    print(f"{i}/{total}")

for i, path in enumerate(paths):  # EXL101
    with open(path, "w") as fh:
        json.dump(records_for(path), fh)
    reporter.report(i, len(paths))
""",
        # SPEC 2.5: `.update(...)` on a `Counter` is not a progress method.
        """
from collections import Counter
import pyarrow.parquet as pq

counts = Counter()
for path in part_paths:  # EXL101
    table = pq.read_table(path, columns=["country"])
    counts.update(table.column("country").to_pylist())
""",
        # SPEC 2.1: `range(5000)` is over the default bounded-range-limit of 1000 steps.
        """
import numpy as np

for shard in range(5000):  # EXL101
    block = np.fromfile(f"blocks/{shard:05d}.bin", dtype=np.float32)
    np.save(f"npy/{shard:05d}.npy", block)
""",
        # SPEC 2.1: `range(n)` with a non-literal argument is unbounded; `torch.load` loads.
        """
import torch

for epoch in range(n_epochs):  # EXL101
    state = torch.load(f"ckpt/epoch-{epoch}.pt")
    metrics.append(evaluate(state))
""",
        # SPEC 2.5: `warnings.warn(...)` is not a log line.
        """
import warnings
import joblib

for path in model_paths:  # EXL101
    model = joblib.load(path)
    if not hasattr(model, "feature_names_in_"):
        warnings.warn(f"{path} has no feature names")
""",
        # SPEC 2.1: `h5py.File` is a loader.
        """
import h5py

for path in recording_paths:  # EXL101
    with h5py.File(path, "r") as f:
        traces = f["traces"][:]
    store.append("traces", to_frame(traces))
""",
        # SPEC 2.1: `fetchone` in a `while` loop.
        """
cur.execute("SELECT id, payload FROM outbox ORDER BY id")
row = cur.fetchone()
while row is not None:  # EXL101
    publish(row)
    row = cur.fetchone()
""",
        # SPEC 2.1: `fetchdf` on a DuckDB result is a loader.
        """
import duckdb

con = duckdb.connect("warehouse.duckdb")
for day in days:  # EXL101
    frame = con.execute("SELECT * FROM events WHERE day = ?", [day]).fetchdf()
    frame.to_parquet(f"events/{day}.parquet")
""",
        # SPEC 2.5: each loop is judged alone: only the one without tqdm is reported.
        """
from tqdm import tqdm
import pandas as pd

for path in tqdm(train_paths):
    pd.read_feather(path).to_parquet(path.with_suffix(".parquet"))

for path in test_paths:  # EXL101
    pd.read_feather(path).to_parquet(path.with_suffix(".parquet"))
""",
        # SPEC 2.5: `with guard(...)` alone is no heartbeat without `g.track`/`g.tick`.
        """
from extraction_lint.guardrails import guard
import pickle

with guard(label="subjects", memory_limit="4 GiB", stall_timeout="10m"):
    for path in pickle_paths:  # EXL101
        with open(path, "rb") as fh:
            con.executemany(INSERT_SQL, pickle.load(fh))
""",
        # SPEC 2.1: a loop that only writes through a sink (`to_parquet`).
        """
for day, frame in events.groupby("day"):  # EXL101
    frame.to_parquet(f"events/day={day}/part.parquet")
""",
        # SPEC 2.1: the DuckDB `append("table", frame)` form is a sink.
        """
for frame in frames_from_api(client):  # EXL101
    con.append("events", frame)
""",
        # SPEC 2.1: `psycopg2.extras.execute_values` imported by name is a sink.
        """
from psycopg2.extras import execute_values

for batch in batched(records, 1000):  # EXL101
    execute_values(cur, "INSERT INTO t (a, b) VALUES %s", batch)
""",
        # SPEC 2.5: a logger neither from `logging.getLogger` nor conventionally named.
        """
import structlog
import pandas as pd

slog = structlog.get_logger()

for path in excel_paths:  # EXL101
    pd.read_excel(path).to_sql("budget", engine, if_exists="append")
    slog.info("loaded", path=str(path))
""",
        # SPEC 2.1: a local name bound to a tuple is no module-level constant: unbounded.
        """
import pandas as pd

def export_core_tables(engine):
    tables = ("customers", "orders")
    for table in tables:  # EXL101
        pd.read_sql_table(table, engine).to_parquet(f"export/{table}.parquet")
""",
        # SPEC 2.1: `range(0, 100_000, 50)` is 2000 steps, over the limit: unbounded.
        """
for offset in range(0, 100_000, 50):  # EXL101
    rows = cur.execute(PAGE_SQL, (offset,)).fetchall()
    out.executemany(INSERT_SQL, rows)
""",
        # SPEC 2.1: a loader in a comprehension in the body still makes an extraction loop.
        """
import pandas as pd

for batch in batched(csv_paths, 50):  # EXL101
    frame = pd.concat([pd.read_csv(p) for p in batch])
    frame.to_parquet(f"out/{batch[0].stem}.parquet")
""",
        # SPEC 2.1: a loader in a generator expression in the header counts.
        """
import pandas as pd

for frame in (pd.read_parquet(p) for p in parquet_paths):  # EXL101
    frame.to_sql("events", engine, if_exists="append")
""",
        # SPEC 2.1: `pickle.dump` is a sink.
        """
import pickle

with open("subjects.pkl", "wb") as fh:
    for subject in subjects:  # EXL101
        pickle.dump(build_record(subject), fh)
""",
        # SPEC 2.5: a `print` in an inner loop's `except` handler only.
        """
import json

for folder in export_dirs:  # EXL101
    for path in folder.glob("*.json"):
        try:
            with open(path) as fh:
                collection.insert_many(json.load(fh))
        except ValueError:
            print(f"bad json: {path}")
""",
        # SPEC 2.1: bounded, unbounded, unbounded: only the middle loop is reported.
        """
import polars as pl

for env in ("staging", "prod"):
    for day in days_to_backfill:  # EXL101
        for path in partitions(env, day):
            pl.read_parquet(path).write_database("events", uri, if_table_exists="append")
""",
        # SPEC 2.1: `while (row := cur.fetchone()) is not None:` header counts.
        """
while (row := cur.fetchone()) is not None:  # EXL101
    publish(row)
""",
        # SPEC 2.1: `session.execute(stmt, rows)` with a collection is a sink (SQLAlchemy executemany).
        """
from sqlalchemy import insert

for page in api.pages("/invoices"):  # EXL101
    rows = []
    for item in page:
        rows.append(to_row(item))
    session.execute(insert(Invoice), rows)
""",
        # SPEC 2.1: so is `execute(stmt, [...])` with a list of records built in the call,
        # in the loop or in a helper it calls (SPEC 2.6).
        """
def add_tags(conn, run_id, tags):
    conn.execute(TAGS.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in tags])


for run in runs:  # EXL101
    conn.execute(RUNS.insert(), [{"run_id": run.id, "name": n} for n in run.names])

for backfill in backfills:  # EXL101
    add_tags(conn, backfill.id, backfill.tags)
""",
        # SPEC 2.5: `<x>.track(...)` is a heartbeat in the iterable, not as an analytics call in the body.
        """
import analytics
import pandas as pd

for path in order_paths:  # EXL101
    frame = pd.read_parquet(path)
    frame.to_sql("orders", engine, if_exists="append")
    analytics.track("etl", "orders_loaded", {"file": path.name, "rows": len(frame)})
""",
        # SPEC 2.1 Scope: a tqdm bar bound in another function says nothing about this dict.
        """
from tqdm import tqdm
import pandas as pd


def download(urls):
    progress = tqdm(total=len(urls))
    for url in urls:
        fetch(url)
        progress.update(1)


def convert(paths):
    progress = {}
    for path in paths:  # EXL101
        pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
        progress.update({path.name: "done"})
""",
        # SPEC 2.1 Loader: `pickle.loads` of bytes read from a store is a real load.
        """
import pickle

for key in redis_client.scan_iter("session:*"):  # EXL101
    session = pickle.loads(redis_client.get(key))
    sessions_table.insert(session)
""",
        # SPEC 2.5: a function nested in a generator runs when it is called: it is checked.
        """
import pickle


def iter_results(root):
    def load_all(folder):
        out = []
        for part in folder.glob("*.pkl"):  # EXL101
            out.append(pickle.load(open(part, "rb")))
        return out

    yield load_all(root)
""",
        # SPEC 2.5: `execute` names jobs too (an Airflow operator's): its loop is checked.
        """
import pandas as pd


class ExportOperator(BaseOperator):
    def execute(self, context):
        for path in self.paths:  # EXL101
            pd.read_csv(path).to_sql("raw", self.engine, if_exists="append")
""",
        # SPEC 2.5: `append` names jobs too: its loop is checked.
        """
class Table:
    def append(self, frames):
        for frame in frames:  # EXL101
            frame.to_parquet(self.next_path())
""",
        # SPEC 2.5: `fetch_all` and `load` are not loader or sink names of the catalogue.
        """
import pickle


def fetch_all(cur):
    rows = []
    while batch := cur.fetchmany(1_000):  # EXL101
        rows.extend(batch)
    return rows


def load(paths):
    for path in paths:  # EXL101
        register(pickle.load(open(path, "rb")))
""",
        # SPEC 2.5: a generator nested in the function does not exempt the function's loop.
        """
def export(paths, con):
    def rows(path):
        yield from parse(path)

    for path in paths:  # EXL101
        con.executemany("INSERT INTO t VALUES (?, ?)", rows(path))
""",
        # SPEC 2.5: a function also called outside any loop is checked on its own.
        """
import pickle


def load_subject(folder):
    rows = []
    for part in folder.glob("*.pkl"):  # EXL101
        rows.extend(pickle.load(open(part, "rb")))
    return rows


for folder in tqdm(folders):
    con.executemany("INSERT INTO s VALUES (?, ?)", load_subject(folder))
preview = load_subject(sample_folder)
""",
        # SPEC 2.5: a call in a `for` header runs once, before the loop: the callee is checked.
        """
import pickle


def read_all(paths):
    out = []
    for path in paths:  # EXL101
        out.extend(pickle.load(open(path, "rb")))
    return out


for row in tqdm(read_all(paths)):
    con.execute("INSERT INTO t VALUES (?)", row)
""",
        # SPEC 2.5: calls only from a bounded loop are not calls from an extraction loop.
        """
import pandas as pd


def export(table, engine):
    for chunk in pd.read_sql_table(table, engine, chunksize=10_000):  # EXL101
        chunk.to_parquet(f"out/{table}-{chunk.index[0]}.parquet")


for table in ("users", "orders"):
    export(table, engine)
""",
        # SPEC 2.5: a call outside loops in a function with no load or write of its own.
        """
import pickle


def load_subject(folder):
    rows = []
    for part in folder.glob("*.pkl"):  # EXL101
        rows.extend(pickle.load(open(part, "rb")))
    return rows


def preview(folder):
    return load_subject(folder)[:5]


for folder in tqdm(folders):
    con.executemany("INSERT INTO s VALUES (?, ?)", load_subject(folder))
""",
    )

    def has_protection(self, guards: LoopGuards) -> bool:
        return guards.heartbeat

    def advice(self, analysis: ModuleAnalysis, loop: Loop) -> str:
        items = iterable_text(analysis, loop)
        if items is None:
            return "call `.tick()` of a `guard(...)` or `.update()` of a `tqdm` bar in it, or log in it"
        guard = _enclosing_guard(analysis, loop)
        track = f"{guard}.track" if guard is not None else track_name(analysis)[0]
        wrapped = "the iterable" if items == "..." else f"`{items}`"
        if _is_async(loop):  # plain tqdm(...) is no async iterator; track(...) takes one
            return f"wrap {wrapped} in `{track}(...)`, or log progress in its body"
        return f"wrap {wrapped} in `{track}(...)` or `tqdm(...)`, or log progress in its body"

    def fix_for(self, analysis: ModuleAnalysis, loop: Loop) -> FixSpec | None:
        """Wrap a ``for`` or ``async for`` loop's iterable in the guardrails' ``track(...)``."""
        import libcst as cst

        node = loop.node
        if not isinstance(node, cst.For):
            return None  # a while loop has no iterable; track() takes async ones too
        target = node.iter
        # enumerate(xs, 1) becomes enumerate(track(xs), 1): track keeps len(xs) for the ETA.
        if (
            node.asynchronous is None
            and isinstance(target, cst.Call)
            and analysis.resolve(target.func) == "enumerate"
            and target.args
            and target.args[0].keyword is None
            and not target.args[0].star
        ):
            target = target.args[0].value
        guard = _enclosing_guard(analysis, loop)
        if guard is not None:
            name, import_line = f"{guard}.track", None
            message = f"iterate `{guard}.track(...)` of the enclosing guard"
        else:
            name, import_line = track_name(analysis)
            message = f"wrap the iterable in `{name}(...)` from `{GUARDRAILS_MODULE}`"
        # The node's own parentheses stay where they are: its range excludes them.
        bare = target.with_changes(lpar=(), rpar=()) if getattr(target, "lpar", None) else target
        code = analysis.module.code_for_node(bare)
        if isinstance(target, cst.Tuple):
            code = f"({code})"  # ``for p in a, *b:`` iterates one tuple, not arguments
        return FixSpec(
            message=message,
            node=target,
            replacement=f"{name}({code})",
            import_line=import_line,
        )
