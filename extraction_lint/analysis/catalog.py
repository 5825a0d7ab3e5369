"""The catalogues the rules share: sinks, loaders, derivations, heartbeats and guards.

Everything here is data. The rules never spell a library name themselves: they ask
:class:`Catalog`, which holds these defaults plus what the configuration adds
(``extend-sink-methods``, ``extend-heartbeat-calls``, ...). Names are fully
qualified through imports (``pd.read_csv`` is ``pandas.read_csv``), see
:mod:`extraction_lint.analysis.names`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# --- Sinks (SPEC 2.1): calls that write many records at once -------------------------------

#: Method sinks that write their receiver (a data frame): their arguments are where and
#: how (a path, a table name, a connection), never the records.
RECEIVER_SINK_METHODS: frozenset[str] = frozenset(
    {
        "to_sql",
        "to_parquet",
        "to_csv",
        "to_feather",
        "to_json",
        "write_parquet",
        "write_csv",
        "write_database",
    }
)
#: Method sinks that write what they are passed: their receiver is a connection, a
#: session, a writer or a file, never the records.
ARGUMENT_SINK_METHODS: frozenset[str] = frozenset(
    {
        "executemany",
        "insert_many",
        "bulk_insert_mappings",
        "bulk_save_objects",
        "add_all",
        "copy_records_to_table",
        "writerows",
        "writelines",
    }
)
#: Methods that are bulk writes on any receiver.
SINK_METHODS: frozenset[str] = RECEIVER_SINK_METHODS | ARGUMENT_SINK_METHODS
#: The classes a frame writer may be called on unbound (``pd.DataFrame.to_parquet(df, p)``).
FRAME_CLASS_NAMES: frozenset[str] = frozenset({"DataFrame", "Series", "LazyFrame"})

#: Functions that are bulk writes, by qualified name.
SINK_FUNCTIONS: frozenset[str] = frozenset(
    {
        "json.dump",
        "pickle.dump",
        "numpy.save",
        "numpy.savez",
        "numpy.savez_compressed",
        "psycopg2.extras.execute_values",
        "psycopg2.extras.execute_batch",
        "pyarrow.parquet.write_table",
    }
)

#: ``x.execute(sql, c)``: a sink only when its second argument carries accumulated data.
EXECUTE_METHOD = "execute"

#: DuckDB's appender form ``con.append("table", df)``.
DUCKDB_APPEND_METHOD = "append"

# --- Loaders (SPEC 2.1) ----------------------------------------------------------------------

LOADER_FUNCTIONS: frozenset[str] = frozenset(
    {
        "pickle.load",
        "pickle.loads",
        "numpy.load",
        "numpy.fromfile",
        "pyarrow.parquet.read_table",
        "json.load",
        "joblib.load",
        "torch.load",
        "h5py.File",
    }
)

#: Qualified-name prefixes whose functions all load: ``pandas.read_csv``, ``polars.scan_parquet``.
LOADER_FUNCTION_PREFIXES: tuple[str, ...] = ("pandas.read_", "polars.read_", "polars.scan_")

LOADER_METHODS: frozenset[str] = frozenset({"fetchall", "fetchmany", "fetchone", "fetchdf"})

#: Methods of the iteration protocol: a loop inside one hands each item to the consumer.
ITERATION_PROTOCOL_METHODS: frozenset[str] = frozenset(
    {"__iter__", "__next__", "__aiter__", "__anext__"}
)

#: Serialisers whose output, fed straight back to ``pickle.loads``, is a round trip (a deep
#: copy made in memory), not data loaded from anywhere.
ROUND_TRIP_SERIALIZERS: frozenset[str] = frozenset(
    {"pickle.dumps", "pickle._dumps", "cloudpickle.dumps", "dill.dumps"}
)

# --- Collections and their growth (SPEC 2.1) ------------------------------------------------

#: Calls that make an empty growable container.
EMPTY_CONTAINER_CALLS: frozenset[str] = frozenset(
    {"list", "dict", "set", "collections.defaultdict", "collections.OrderedDict"}
)

#: ``deque()`` is a collection only without ``maxlen``.
DEQUE_CALL = "collections.deque"

#: Data frames built with no data are collections; with data they are derivations.
EMPTY_FRAME_CALLS: frozenset[str] = frozenset({"pandas.DataFrame", "polars.DataFrame"})
#: Keywords that describe the frame's shape but carry no rows.
FRAME_SHAPE_KEYWORDS: frozenset[str] = frozenset({"columns", "schema", "index", "dtype"})

#: Frame concatenation: ``c = pandas.concat([..., c, ...])`` is growth of ``c``.
FRAME_CONCAT_CALLS: frozenset[str] = frozenset({"pandas.concat", "polars.concat"})

GROWTH_METHODS: frozenset[str] = frozenset({"append", "extend", "insert", "add", "update"})
SETDEFAULT_METHOD = "setdefault"
CLEAR_METHOD = "clear"

# --- Derivations (SPEC 2.1): values built whole from a collection ---------------------------

DERIVATION_CALLS: frozenset[str] = frozenset(
    {
        "pandas.DataFrame",
        "pandas.concat",
        "pandas.DataFrame.from_records",
        "pandas.DataFrame.from_dict",
        "polars.DataFrame",
        "polars.concat",
        "polars.from_dicts",
        "polars.from_records",
        "numpy.array",
        "numpy.asarray",
        "numpy.concatenate",
        "numpy.stack",
        "numpy.vstack",
        "numpy.hstack",
        "pyarrow.Table.from_pylist",
        "pyarrow.Table.from_pydict",
        "pyarrow.table",
        "list",
        "tuple",
        "dict",
        "set",
        "sorted",
    }
)

#: Built-ins that materialise an iterable whole (EXL002) when given a call or a generator.
MATERIALIZING_CALLS: frozenset[str] = frozenset({"list", "tuple", "set", "sorted"})

# --- Whole reads (SPEC 2.3): a source read whole that the sink could take in batches -------

#: ``<x>.fetchall()``, ``<x>.fetchdf()``, ``<x>.fetch_df()``: every row of a result at once.
WHOLE_READ_METHODS: frozenset[str] = frozenset({"fetchall", "fetchdf", "fetch_df"})
#: The distributed engines' pulls to the driver, called with no arguments: Spark's
#: ``toPandas()``/``collect()``, polars' lazy ``collect()``, Dask's ``compute()``.
DRIVER_PULL_METHODS: frozenset[str] = frozenset({"toPandas", "collect", "compute"})
#: ``list(r)`` of a name bound to one of these reads every row: readers...
READER_FACTORIES: frozenset[str] = frozenset({"csv.reader", "csv.DictReader"})
#: ... and cursors (``con.cursor()``, sqlite3's and DuckDB's ``con.execute(sql)``).
CURSOR_METHODS: frozenset[str] = frozenset({"cursor", "execute"})

#: Sinks that take any iterable of records, so a generator streams into them.
ITERATOR_SINK_METHODS: frozenset[str] = frozenset(
    {
        "executemany",
        "insert_many",
        "add_all",
        "copy_records_to_table",
        "writerows",
        "writelines",
    }
)
ITERATOR_SINK_FUNCTIONS: frozenset[str] = frozenset(
    {"psycopg2.extras.execute_values", "psycopg2.extras.execute_batch"}
)
#: Sinks that write a data frame (the DuckDB ``append`` form too): one frame per chunk.
FRAME_SINK_METHODS: frozenset[str] = frozenset(
    {
        "to_sql",
        "to_parquet",
        "to_csv",
        "to_feather",
        "to_json",
        "write_parquet",
        "write_csv",
        "write_database",
        "append",
    }
)

# --- Batched writes (the EXL001 fix): sinks that can take a part of the collection ---------

#: Methods that write the records they are given and keep what was written before, so
#: that several calls with parts write what one call with the whole writes.
BATCHABLE_SINK_METHODS: frozenset[str] = frozenset(
    {
        "executemany",
        "insert_many",
        "bulk_insert_mappings",
        "bulk_save_objects",
        "add_all",
        "copy_records_to_table",
        "writerows",
        "writelines",
        "write_table",
        "write_batch",
        "append",
    }
)
BATCHABLE_SINK_FUNCTIONS: frozenset[str] = frozenset(
    {"psycopg2.extras.execute_values", "psycopg2.extras.execute_batch"}
)
#: Frame writes that append only when told to: ``df.to_sql(name, con, if_exists="append")``.
APPENDING_SINK_KEYWORDS: dict[str, tuple[str, str]] = {"to_sql": ("if_exists", "append")}
#: Derivations that turn a part of the collection into the same part of the result, so that
#: ``sink(derive(part))`` for each part writes the rows ``sink(derive(whole))`` writes.
ELEMENTWISE_DERIVATIONS: frozenset[str] = frozenset(
    {
        "pandas.DataFrame",
        "pandas.concat",
        "pandas.DataFrame.from_records",
        "polars.DataFrame",
        "polars.concat",
        "polars.from_dicts",
        "polars.from_records",
        "pyarrow.Table.from_pylist",
        "pyarrow.RecordBatch.from_pylist",
        "list",
        "tuple",
    }
)
#: Those of them that build a table from records infer its columns (and their types) from
#: the records they get, so a part gives the same part of the whole table only when the
#: columns are given: the argument that gives them, as (keyword, position).
TABLE_COLUMNS_ARGUMENTS: dict[str, tuple[str, int]] = {
    "pandas.DataFrame": ("columns", 2),
    "pandas.DataFrame.from_records": ("columns", 2),
    "polars.DataFrame": ("schema", 1),
    "polars.from_dicts": ("schema", 1),
    "polars.from_records": ("schema", 1),
    "pyarrow.Table.from_pylist": ("schema", 1),
    "pyarrow.RecordBatch.from_pylist": ("schema", 1),
}
#: Sinks that write a whole file or value at once (a second call would replace the first, or
#: write a second document), and what to write in the loop instead.
_PARQUET_PARTS = "write with a ParquetWriter in the loop"
_TABLE_PARTS = "write to a DuckDB table in the loop"
WHOLE_VALUE_SINKS: dict[str, str] = {
    "json.dump": "write JSON lines in the loop",
    "pickle.dump": _TABLE_PARTS,
    "numpy.save": _TABLE_PARTS,
    "numpy.savez": _TABLE_PARTS,
    "numpy.savez_compressed": _TABLE_PARTS,
    "pyarrow.parquet.write_table": _PARQUET_PARTS,
}
#: Frame methods that write a whole file, and what to write in the loop instead.
WHOLE_FILE_SINK_METHODS: dict[str, str] = {
    "to_parquet": _PARQUET_PARTS,
    "write_parquet": _PARQUET_PARTS,
    "to_feather": "write with `pyarrow.ipc.new_file()` in the loop",
    "to_json": "write JSON lines (`lines=True`) in the loop",
}

#: ``x.execute(sql, params)`` with a statement that starts with one of these reads: its
#: parameters are a query's, however many (``WHERE id IN (%s, %s, ...)``).
QUERY_KEYWORDS: frozenset[str] = frozenset({"SELECT", "SHOW", "DESCRIBE", "EXPLAIN", "PRAGMA"})
#: ``x.execute(sql, <these>)`` passes a list of records (SQLAlchemy's executemany form):
#: calls that build a list from what they are given...
RECORD_LIST_BUILDERS: frozenset[str] = frozenset({"list", "sorted"})
#: ... methods that return one (numpy, pandas, pyarrow, polars)...
RECORD_LIST_METHODS: frozenset[str] = frozenset({"tolist", "to_list", "to_pylist", "to_dicts"})
#: ... and ``DataFrame.to_dict("records")``.
RECORDS_ORIENT_METHOD = "to_dict"

# --- Bounded loops (SPEC 2.1) ---------------------------------------------------------------

#: Wrappers that keep an iterable bounded when every argument is bounded.
BOUNDED_WRAPPERS: frozenset[str] = frozenset({"enumerate", "zip", "reversed", "sorted"})
#: Methods of a bounded dict display that iterate it.
BOUNDED_VIEW_METHODS: frozenset[str] = frozenset({"items", "keys", "values"})

# --- Heartbeats (SPEC 2.5, EXL101) ------------------------------------------------------------

#: Progress iterators: wrapping a loop's iterable in one of these is a heartbeat.
PROGRESS_ITERATORS: frozenset[str] = frozenset(
    {
        "tqdm.tqdm",
        "tqdm.trange",
        "tqdm.auto.tqdm",
        "tqdm.auto.trange",
        "tqdm.notebook.tqdm",
        "tqdm.notebook.trange",
        "tqdm.std.tqdm",
        "tqdm.rich.tqdm",
        "tqdm.contrib.tenumerate",
        "tqdm.contrib.tzip",
        "tqdm.contrib.tmap",
        "rich.progress.track",
        "alive_progress.alive_it",
        "extraction_lint.guardrails.track",
    }
)

#: Constructors of progress objects whose ``.update()``/``.advance()`` is a heartbeat.
PROGRESS_OBJECTS: frozenset[str] = frozenset(
    {
        "tqdm.tqdm",
        "tqdm.auto.tqdm",
        "tqdm.notebook.tqdm",
        "tqdm.std.tqdm",
        "tqdm.rich.tqdm",
        "rich.progress.Progress",
        "extraction_lint.guardrails.ProgressTracker",
    }
)
PROGRESS_OBJECT_METHODS: frozenset[str] = frozenset({"update", "advance"})
#: Methods that are heartbeats on any receiver.
HEARTBEAT_METHODS: frozenset[str] = frozenset({"heartbeat", "tick"})
#: ``<guard>.track(...)`` is all three guards; any other ``<x>.track(...)`` is a heartbeat.
TRACK_METHOD = "track"

LOG_FUNCTIONS: frozenset[str] = frozenset(
    {"print", "rich.print", "click.echo", "click.secho", "sys.stdout.write", "sys.stderr.write"}
)
#: ``logging.info(...)``, also imported as ``from logging import info``.
LOGGING_MODULE = "logging"
#: Objects whose ``.print(...)``/``.log(...)`` writes a line (rich's console).
CONSOLE_OBJECTS: frozenset[str] = frozenset({"rich.console.Console"})
CONSOLE_METHODS: frozenset[str] = frozenset({"print", "log"})
LOG_LEVELS: frozenset[str] = frozenset(
    {"debug", "info", "warning", "warn", "error", "critical", "exception", "log"}
)
LOGGER_NAMES: frozenset[str] = frozenset({"log", "logger", "LOG", "LOGGER", "_log", "_logger"})
LOGGER_FACTORIES: frozenset[str] = frozenset({"logging.getLogger"})

# --- Guards (SPEC 2.5, EXL102 and EXL103) -----------------------------------------------------

GUARDRAILS_MODULE = "extraction_lint.guardrails"
#: ``guard(...)``: heartbeat, memory and stall guard in one.
GUARD_FACTORIES: frozenset[str] = frozenset({"extraction_lint.guardrails.guard"})
MEMORY_GUARD_CONTEXTS: frozenset[str] = frozenset(
    {"extraction_lint.guardrails.guard", "extraction_lint.guardrails.MemoryGuard"}
)
STALL_GUARD_CONTEXTS: frozenset[str] = frozenset(
    {
        "extraction_lint.guardrails.guard",
        "extraction_lint.guardrails.StallDetector",
        "extraction_lint.guardrails.Deadline",
    }
)
#: Objects whose ``.check()`` checks memory: a MemoryGuard, and a guard (which checks all).
MEMORY_GUARD_OBJECTS: frozenset[str] = frozenset(
    {"extraction_lint.guardrails.MemoryGuard", "extraction_lint.guardrails.guard"}
)
#: ``<x>.check_memory()`` on any receiver; ``.check()`` only on a MemoryGuard.
MEMORY_CHECK_METHODS: frozenset[str] = frozenset({"check_memory"})
MEMORY_GUARD_CHECK_METHOD = "check"
MEMORY_CHECK_FUNCTIONS: frozenset[str] = frozenset(
    {"resource.getrusage", "tracemalloc.get_traced_memory", "psutil.virtual_memory"}
)
#: ``psutil.Process(...).memory_info()``.
PROCESS_FACTORIES: frozenset[str] = frozenset({"psutil.Process"})
PROCESS_MEMORY_METHODS: frozenset[str] = frozenset({"memory_info", "memory_full_info"})

#: Process-wide memory limit: ``resource.setrlimit(resource.RLIMIT_AS, ...)``.
SETRLIMIT = "resource.setrlimit"
MEMORY_RLIMITS: frozenset[str] = frozenset({"RLIMIT_AS", "RLIMIT_DATA"})
#: Process-wide timeouts.
PROCESS_TIMEOUT_FUNCTIONS: frozenset[str] = frozenset({"signal.alarm", "signal.setitimer"})
FAULTHANDLER_LATER = "faulthandler.dump_traceback_later"

#: Decorators that bound a function's run time, by their last name: ``@timeout(60)``
#: (timeout-decorator, wrapt-timeout-decorator, ``pytest.mark.timeout``), ``@func_set_timeout``.
TIMEOUT_DECORATORS: frozenset[str] = frozenset({"timeout", "func_set_timeout"})
#: Task decorators (Prefect ``flow``/``task``, Celery ``task``/``shared_task``, Airflow ``task``)
#: and the keywords that give them a time limit.
TASK_DECORATORS: frozenset[str] = frozenset({"flow", "task", "shared_task"})
TASK_TIMEOUT_KEYWORDS: frozenset[str] = frozenset(
    {"timeout_seconds", "time_limit", "soft_time_limit", "execution_timeout"}
)

#: Conventional aliases, used only for names that no import or assignment binds, so that
#: snippets written without their imports still resolve (``pd.read_csv``).
CONVENTIONAL_ALIASES: dict[str, str] = {
    "pd": "pandas",
    "np": "numpy",
    "pl": "polars",
    "pa": "pyarrow",
    "pq": "pyarrow.parquet",
    "tqdm": "tqdm.tqdm",
    "trange": "tqdm.trange",
    "track": "rich.progress.track",
    "Progress": "rich.progress.Progress",
    "alive_it": "alive_progress.alive_it",
    "guard": "extraction_lint.guardrails.guard",
    "ProgressTracker": "extraction_lint.guardrails.ProgressTracker",
    "MemoryGuard": "extraction_lint.guardrails.MemoryGuard",
    "StallDetector": "extraction_lint.guardrails.StallDetector",
    "Deadline": "extraction_lint.guardrails.Deadline",
    "defaultdict": "collections.defaultdict",
    "deque": "collections.deque",
    "OrderedDict": "collections.OrderedDict",
}


def canonical_guardrails_name(qualname: str) -> str:
    """Map ``extraction_lint.guardrails.<submodule>.Name`` to ``extraction_lint.guardrails.Name``.

    The guardrails package re-exports its public names, so a user may import them from a
    submodule; the catalogue only knows the public spelling.
    """
    if qualname.startswith(GUARDRAILS_MODULE + "."):
        return GUARDRAILS_MODULE + "." + qualname.rsplit(".", 1)[1]
    return qualname


@dataclass(frozen=True)
class ExtraCalls:
    """Calls that the configuration adds to a catalogue.

    ``functions`` are qualified names (``mylib.progress.beat``); ``methods`` are method names
    that count on any receiver (written with a leading dot in the configuration: ``.ping``).
    """

    functions: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> ExtraCalls:
        """Split configuration entries into functions and ``.method`` names."""
        functions: set[str] = set()
        methods: set[str] = set()
        for entry in entries:
            if entry.startswith("."):
                methods.add(entry[1:])
            else:
                functions.add(entry)
        return cls(frozenset(functions), frozenset(methods))

    def matches(self, qualname: str | None, method: str | None) -> bool:
        """Whether a call with this qualified name or method name is one of these."""
        return (qualname is not None and qualname in self.functions) or (
            method is not None and method in self.methods
        )

    def __bool__(self) -> bool:
        return bool(self.functions or self.methods)


@dataclass(frozen=True)
class Catalog:
    """The sink, loader and guard catalogues in force for one run (defaults + configuration)."""

    sink_methods: frozenset[str] = SINK_METHODS
    sink_functions: frozenset[str] = SINK_FUNCTIONS
    extra_heartbeats: ExtraCalls = field(default_factory=ExtraCalls)
    extra_memory_guards: ExtraCalls = field(default_factory=ExtraCalls)
    extra_stall_guards: ExtraCalls = field(default_factory=ExtraCalls)

    @classmethod
    def build(
        cls,
        *,
        extend_sink_methods: Iterable[str] = (),
        extend_sink_functions: Iterable[str] = (),
        extend_heartbeat_calls: Iterable[str] = (),
        extend_memory_guard_calls: Iterable[str] = (),
        extend_stall_guard_calls: Iterable[str] = (),
    ) -> Catalog:
        """The default catalogue extended by configuration entries."""
        return cls(
            sink_methods=SINK_METHODS | frozenset(extend_sink_methods),
            sink_functions=SINK_FUNCTIONS | frozenset(extend_sink_functions),
            extra_heartbeats=ExtraCalls.parse(extend_heartbeat_calls),
            extra_memory_guards=ExtraCalls.parse(extend_memory_guard_calls),
            extra_stall_guards=ExtraCalls.parse(extend_stall_guard_calls),
        )

    def implements_loader_or_sink(self, name: str) -> bool:
        """Whether a function named ``name`` implements a loader or a sink of this
        catalogue (SPEC 2.5): exactly one of their method names. ``append`` and ``execute``
        are not among them (they name jobs too), nor are ``load``/``save``-like words."""
        return name in LOADER_METHODS or name in self.sink_methods

    def is_loader(self, qualname: str | None, method: str | None) -> bool:
        """Whether a call loads data (SPEC 2.1 "Loader")."""
        if method is not None and method in LOADER_METHODS:
            return True
        if qualname is None:
            return False
        return qualname in LOADER_FUNCTIONS or qualname.startswith(LOADER_FUNCTION_PREFIXES)
