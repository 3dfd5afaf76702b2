"""Loading one source's files for a window of days into bronze, in one transaction.

Each file is prepared first (header, encoding and delimiter checks; JSON and Parquet are typed into
temp tables), then the window's old rows and quarantine entries are swapped for the new ones in one
transaction. CSV streams straight from read_csv into the bronze table inside that transaction, the
way DuckDB's own CREATE TABLE AS does. If a file still fails there, the transaction rolls back and
is retried without that file, which goes to quarantine.rejected_files, so a failure leaves the previous state and a re-run gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from shopflow_assets.landing import LandingFile, files_in_window
from shopflow_assets.readers import READERS, FileRejected, Prepared, Staged, probe_file
from shopflow_assets.readers.base import ident, sql_str
from shopflow_assets.sources import SourceSpec
from shopflow_assets.warehouse.schema import bronze_columns, bronze_table, ensure_schema
from shopflow_assets.warehouse.transaction import transaction

LAYER = "bronze"
# DuckDB errors that say something about a file's content; others (out of memory, I/O, interrupts)
# are the machine's trouble and must fail the run, so that its retry policy can try again.
DATA_ERRORS = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.ConstraintException,
    duckdb.BinderException,
    duckdb.ParserException,
)


@dataclass
class FileOutcome:
    path: str  # relative to the landing root
    partition: date
    sha256: str
    bytes: int
    rows_loaded: int = 0
    rows_rejected: int = 0
    status: str = "loaded"  # or "rejected"
    reason: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    finished_at: datetime | None = None

    def reject(self, reason: str) -> None:
        self.status, self.reason = "rejected", reason


@dataclass
class LoadResult:
    source: str
    start: date
    end: date
    files: list[FileOutcome]
    rows_by_partition: dict[date, int]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def files_rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "rejected"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _prepare_file(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, file: LandingFile, rel: str, out: Staged
) -> tuple[FileOutcome, Prepared | None]:
    """Check and stage one file; a file that cannot be read comes back rejected with the reason."""
    try:
        probe = probe_file(file.path)
    except OSError as exc:  # vanished or not readable by us: the day still loads without it
        outcome = FileOutcome(path=rel, partition=file.partition, sha256="", bytes=0)
        outcome.reject(f"cannot open file: {exc.strerror or exc}")
        return outcome, None
    outcome = FileOutcome(path=rel, partition=file.partition, sha256=probe.sha256, bytes=probe.size)
    try:
        return outcome, READERS[spec.format](con, file, spec, probe, out)
    except FileRejected as exc:
        outcome.reject(str(exc))
    except DATA_ERRORS as exc:  # what the reader did not foresee in the data still names the file
        outcome.reject(f"unreadable {spec.format} file: {_first_line(exc)}")
    return outcome, None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


class _FileInsertFailed(Exception):
    def __init__(self, outcome: FileOutcome, cause: duckdb.Error) -> None:
        super().__init__(f"{outcome.path}: {_first_line(cause)}")
        self.outcome, self.cause = outcome, cause


def _drop_temp(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    temps = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = 'temp' AND starts_with(table_name, ?)",
        [prefix],
    ).fetchall()
    for name, kind in sorted(temps, key=lambda t: t[1] != "VIEW"):  # views before their tables
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.{ident(name)}")


def load_bronze(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, landing_root: Path, start: date, end: date, run_id: str
) -> LoadResult:
    """Replace bronze.<source> and its quarantine rows for [start, end) with what the landing holds."""
    ensure_schema(con)
    table = bronze_table(spec)
    ingested_at = _now()
    prefix = "_bronze_"
    files = files_in_window(landing_root, spec, start, end)
    try:
        prepared = [
            _prepare_file(con, spec, f, f.path.relative_to(landing_root).as_posix(), Staged(f"{prefix}{i}"))
            for i, f in enumerate(files)
        ]
        while True:
            try:
                _swap_window(con, spec, table, start, end, prepared, run_id, ingested_at)
                break
            except _FileInsertFailed as failed:  # retry without the file that broke the transaction
                failed.outcome.reject(f"unreadable {spec.format} file: {_first_line(failed.cause)}")
                failed.outcome.rows_loaded = failed.outcome.rows_rejected = 0
                prepared = [(o, None if o is failed.outcome else p) for o, p in prepared]
    finally:
        _drop_temp(con, prefix)
    rows = dict(
        con.execute(
            f"SELECT _partition_date, count(*) FROM {table} WHERE _partition_date >= ? AND _partition_date < ? "
            "GROUP BY ALL",
            [start, end],
        ).fetchall()
    )
    return LoadResult(
        source=spec.name, start=start, end=end, files=[o for o, _ in prepared], rows_by_partition=rows
    )


def _swap_window(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    table: str,
    start: date,
    end: date,
    files: list[tuple[FileOutcome, Prepared | None]],
    run_id: str,
    ingested_at: datetime,
) -> None:
    """Delete the window's rows and quarantine entries and insert every readable file, atomically."""
    names = ", ".join(ident(c.name) for c in spec.all_columns)
    cols = ", ".join(ident(n) for n, _ in bronze_columns(spec))
    with transaction(con):
        con.execute(f"DELETE FROM {table} WHERE _partition_date >= ? AND _partition_date < ?", [start, end])
        for quarantine in ("rejected_records", "rejected_files"):
            con.execute(
                f"DELETE FROM quarantine.{quarantine} "
                "WHERE source = ? AND layer = ? AND partition_date >= ? AND partition_date < ?",
                [spec.name, LAYER, start, end],
            )
        for o, plan in files:
            if plan is None:
                con.execute(
                    "INSERT INTO quarantine.rejected_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [spec.name, LAYER, o.partition, o.path, o.sha256, o.bytes, o.reason, run_id, ingested_at],
                )
                continue
            try:
                _insert_file(con, spec, table, names, cols, o, plan, run_id, ingested_at)
            except DATA_ERRORS as exc:  # anything else (memory, disk, interrupt) fails the run: retried
                raise _FileInsertFailed(o, exc) from exc
        if files:
            con.executemany(
                "INSERT INTO meta.ingestion_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, spec.name, o.partition, o.path, o.sha256, o.bytes, o.rows_loaded,
                     o.rows_rejected, o.status, o.reason, o.started_at, o.finished_at or _now()]
                    for o, _ in files
                ],
            )  # fmt: skip


def _insert_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    table: str,
    names: str,
    cols: str,
    o: FileOutcome,
    plan: Prepared,
    run_id: str,
    ingested_at: datetime,
) -> None:
    (o.rows_loaded,) = con.execute(
        f"""INSERT INTO {table} ({cols})
        SELECT {names}, ?::DATE, ?, ?, _record_number, ?::TIMESTAMP, ? FROM ({plan.rows_sql})""",
        [o.partition, o.path, o.sha256, ingested_at, run_id],
    ).fetchone()
    if plan.renumber:
        plan.renumber(
            con,
            table,
            f"_source_file = {sql_str(o.path)} AND _partition_date = DATE {sql_str(o.partition.isoformat())}",
        )
    (o.rows_rejected,) = con.execute(
        f"""INSERT INTO quarantine.rejected_records
        SELECT ?, ?, ?::DATE, ?, record_number, record_key, rule, reason, raw_record, ?, ?::TIMESTAMP
        FROM ({plan.rejects_sql})""",
        [spec.name, LAYER, o.partition, o.path, run_id, ingested_at],
    ).fetchone()
    o.finished_at = _now()
