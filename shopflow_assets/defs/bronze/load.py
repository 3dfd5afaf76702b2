"""Loading one source's files for a window of days into bronze: stage, then publish atomically.

The landing folder is scanned first: files whose name breaks the contract, or that resolve outside
the landing root, are never opened but recorded as rejected (landing.py). Each other file is
prepared (header, delimiter and contract checks; JSON and Parquet are typed into temp tables),
while a worker thread hashes it, checks its UTF-8 and counts its lines. Then:

1. Stage, one transaction per file: its rows are appended to the rows table under a new file id.
   CSV streams straight from read_csv, the way DuckDB's own CREATE TABLE AS does, as UTF-8; if
   the probe finds the file is not UTF-8, it is staged again as Latin-1 under another id, and if
   its loaded and rejected records do not add up to the records it delivers, again in one thread,
   then carefully (see _stage_csv). Whatever reading is kept, loaded + quarantined must equal the
   records delivered, or the whole file is rejected with the counts (_check_accounting). Readers
   do not see staged rows: the bronze.<source> view shows only files registered in bronze._files.
   A file that fails here is rejected; the others still load.
2. Publish, one transaction: record numbers are set, the window's old rows (and every other
   unregistered row in it) are deleted, and its file registrations and quarantine entries are
   swapped for the new ones. Before committing, the window must hold exactly the staged rows.

Numbering after the stage commits is what makes this fast: an UPDATE of rows that are still
transaction-local makes DuckDB rewrite the whole optimistically written append at commit, which
cost more than the numbering. One transaction per file also steers clear of a DuckDB 2.0.0 bug:
after an INSERT that appends no rows, a large INSERT into the same table in the same transaction
is invisible to filtered scans once committed (until the next checkpoint). A failure between
stage and publish leaves only unregistered rows, which readers never see and the window's next
load deletes; so a failure leaves the previous state and a re-run gives the same rows.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from shopflow_assets.landing import LandingFile, RefusedFile, printable, window
from shopflow_assets.lib.schema import (
    BRONZE_FILES,
    FILE_IDS,
    bronze_rows_table,
    ensure_schema,
)
from shopflow_assets.lib.sql import ident, printable_sql
from shopflow_assets.lib.transaction import transaction
from shopflow_assets.readers import READERS, FileProbe, FileRejected, Prepared, Staged, probe_file
from shopflow_assets.sources import SourceSpec

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
    partition: date | None  # None: a refused file whose name claims no day
    probe: FileProbe | None  # None: the file could not be opened
    rows_loaded: int = 0
    rows_rejected: int = 0
    status: str = "loaded"  # or "rejected"
    reason: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    finished_at: datetime | None = None

    def reject(self, reason: str) -> None:
        self.status, self.reason = "rejected", printable(reason)

    @property
    def sha256(self) -> str:
        return self.probe.sha256 if self.probe else ""

    @property
    def bytes(self) -> int:
        return self.probe.size if self.probe else 0


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
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    file: LandingFile,
    rel: str,
    out: Staged,
    worker: Executor,
) -> tuple[FileOutcome, Prepared | None]:
    """Check and stage one file; a file that cannot be read comes back rejected with the reason."""
    try:
        probe = probe_file(file.path, worker)
    except OSError as exc:  # vanished or not readable by us: the day still loads without it
        outcome = FileOutcome(path=rel, partition=file.partition, probe=None)
        outcome.reject(f"cannot open file: {exc.strerror or exc}")
        return outcome, None
    outcome = FileOutcome(path=rel, partition=file.partition, probe=probe)
    try:
        return outcome, READERS[spec.format](con, file, spec, probe, out)
    except FileRejected as exc:
        outcome.reject(str(exc))
    except DATA_ERRORS as exc:  # what the reader did not foresee in the data still names the file
        outcome.reject(f"unreadable {spec.format} file: {_first_line(exc)}")
    return outcome, None


def _refused(r: RefusedFile, landing_root: Path) -> FileOutcome:
    """A file the landing contract refuses (its name, or where it resolves to): never opened."""
    outcome = FileOutcome(path=r.path.relative_to(landing_root).as_posix(), partition=r.claimed, probe=None)
    outcome.reject(r.reason)
    return outcome


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


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
    table = bronze_rows_table(spec)
    ingested_at = _now()
    prefix = "_bronze_"
    files, refused = window(landing_root, spec, start, end)
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint")
    try:
        prepared = [
            _prepare_file(
                con, spec, f, f.path.relative_to(landing_root).as_posix(), Staged(f"{prefix}{i}"), worker
            )
            for i, f in enumerate(files)
        ] + [(_refused(r, landing_root), None) for r in refused]
        staged = _stage(con, spec, table, prepared)
        rows = _publish(con, spec, table, start, end, staged, run_id, ingested_at)
    finally:
        worker.shutdown(cancel_futures=True)
        _drop_temp(con, prefix)
    return LoadResult(
        source=spec.name, start=start, end=end, files=[o for o, _ in prepared], rows_by_partition=rows
    )


@dataclass
class _StagedFile:
    """A file after the stage: the reading kept and the file id its rows carry."""

    outcome: FileOutcome
    plan: Prepared | None  # None: the file is rejected
    file_id: int | None = None


def _stage(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    table: str,
    files: list[tuple[FileOutcome, Prepared | None]],
) -> list[_StagedFile]:
    """Append every readable file's rows under new file ids, unregistered (invisible to readers)."""
    names = ", ".join(ident(c.name) for c in spec.all_columns)
    staged = [_StagedFile(o, plan) for o, plan in files]
    for s in staged:
        if s.plan is None:
            continue
        try:
            if s.plan.careful:
                _stage_csv(con, table, names, s)
            else:
                s.file_id = _stage_reading(con, table, names, s.outcome, s.plan)
            _check_accounting(con, s, s.plan.records)
        except DATA_ERRORS as exc:  # anything else (memory, disk, interrupt) fails the run: retried
            s.outcome.reject(f"unreadable {spec.format} file: {_first_line(exc)}")
        except _Unaccounted as exc:
            s.outcome.reject(str(exc))
        if s.outcome.status == "rejected":  # its staged rows are unregistered: publish deletes them
            s.outcome.rows_loaded, s.plan = 0, None
    return staged


class _Unaccounted(Exception):
    """A file's final reading does not account for every record it delivers."""


def _stage_csv(con: duckdb.DuckDBPyConnection, table: str, names: str, s: _StagedFile) -> None:
    """Stage readings of a CSV until one accounts for every record the file delivers: DuckDB's
    parallel reading (as Latin-1 if the file is not UTF-8), then the same in one thread, then the
    careful reading. Records delivered are the file's non-blank lines after the header when no
    line break is quoted (the fingerprint knows), else the careful reading's count (csv_records.py).
    A reading DuckDB cannot finish (mixed line endings, say) counts as one that does not add up."""
    probe, plan = s.outcome.probe, s.plan
    build_careful, count_records = plan.careful, plan.count_records
    if plan.latin1 and probe.fingerprint.done() and not probe.utf8:  # known already: skip UTF-8
        plan = plan.latin1
    error = _attempt(con, table, names, s, plan)
    if plan.latin1 and not probe.utf8:  # a discarded reading's rows are deleted at publish
        plan = plan.latin1
        error = _attempt(con, table, names, s, plan)
    facts = probe.fingerprint.result()
    delivered = count_records(probe.utf8) if facts.quoted_breaks else facts.data_lines
    # DuckDB 2.0 defect, see shopflow_assets/lib/duckdb_defects.py (1): redo a reading that loses records
    for fallback in (plan.sequential, None):
        if error is None and _records_read(con, s.outcome, plan) == delivered:
            break
        plan = fallback or build_careful(probe.utf8)
        error = _attempt(con, table, names, s, plan)
    s.plan = plan
    if error is not None:
        raise error
    s.plan = replace(plan, records=delivered if plan.records is None else plan.records)


def _attempt(
    con: duckdb.DuckDBPyConnection, table: str, names: str, s: _StagedFile, plan: Prepared
) -> Exception | None:
    """Stage one reading; the data error that stopped it, if any."""
    try:
        s.file_id = _stage_reading(con, table, names, s.outcome, plan)
    except DATA_ERRORS as exc:
        s.outcome.rows_loaded = 0
        return exc
    return None


def _check_accounting(con: duckdb.DuckDBPyConnection, s: _StagedFile, delivered: int | None) -> None:
    """The final reading, whatever produced it, must load or quarantine every record delivered."""
    if delivered is None:
        return
    (rejected,) = con.execute(f"SELECT count(*) FROM ({s.plan.rejects_sql})").fetchone()
    if s.outcome.rows_loaded + rejected != delivered:
        raise _Unaccounted(
            f"records do not add up: the file delivers {delivered} records but its final reading loaded "
            f"{s.outcome.rows_loaded} and quarantined {rejected}; none of them is published"
        )


# DuckDB 2.0 defect, see shopflow_assets/lib/duckdb_defects.py (1)
def _records_read(con: duckdb.DuckDBPyConnection, o: FileOutcome, plan: Prepared) -> int:
    """Records a reading accounted for, loaded or rejected. DuckDB 2.0's parallel CSV reader
    with store_rejects loses every record after a rejected one that opens a read buffer (about
    8 MB into the file): neither loaded nor rejected. An unterminated quote makes either reader
    swallow the rest of the file into one field (the one-thread reader without even a reject).
    Mixed line endings stop DuckDB with an error. So a reading that does not account for every
    record is redone, in one thread, then carefully (see _stage_csv)."""
    (rejected,) = con.execute(f"SELECT count(*) FROM ({plan.rejects_sql})").fetchone()
    return o.rows_loaded + rejected


def _stage_reading(
    con: duckdb.DuckDBPyConnection, table: str, names: str, o: FileOutcome, plan: Prepared
) -> int:
    """Append one reading of a file under a new file id, in a transaction of its own."""
    # DuckDB 2.0.0 defects, see shopflow_assets/lib/duckdb_defects.py (2) and (3)
    with transaction(con):
        (file_id,) = con.execute(f"SELECT nextval('{FILE_IDS}')").fetchone()
        (o.rows_loaded,) = con.execute(
            f"INSERT INTO {table} SELECT {names}, ?::DATE, {file_id}, _record_number FROM ({plan.rows_sql})",
            [o.partition],
        ).fetchone()
    return file_id


def _publish(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    table: str,
    start: date,
    end: date,
    staged: list[_StagedFile],
    run_id: str,
    ingested_at: datetime,
) -> dict[date, int]:
    """Number the staged rows and swap the window's rows, files and quarantine entries, atomically;
    returns the rows per day it published."""
    window = [start, end]
    loaded = [s for s in staged if s.plan is not None]
    new_ids = [s.file_id for s in loaded]
    with transaction(con):
        for s in loaded:
            if s.plan.renumber:  # after the stage committed: DuckDB defect, see lib/duckdb_defects.py (3)
                s.plan.renumber(con, table, f"_file_id = {s.file_id}", s.outcome.rows_loaded)
        # old rows, a discarded UTF-8 reading, and whatever a failed load staged but never published
        con.execute(
            f"DELETE FROM {table} WHERE _partition_date >= ? AND _partition_date < ? "
            "AND NOT list_contains(?::BIGINT[], _file_id)",
            [*window, new_ids],
        )
        rows = dict(
            con.execute(
                f"SELECT _partition_date, count(*) FROM {table} "
                "WHERE _partition_date >= ? AND _partition_date < ? GROUP BY ALL",
                window,
            ).fetchall()
        )
        expected = sum(s.outcome.rows_loaded for s in loaded)
        if sum(rows.values()) != expected:
            raise RuntimeError(
                f"bronze/{spec.name}: staged {expected} rows but the window holds {sum(rows.values())}; "
                "nothing published"
            )
        con.execute(
            f"DELETE FROM {BRONZE_FILES} WHERE source = ? AND partition_date >= ? AND partition_date < ?",
            [spec.name, *window],
        )
        # a refused file whose name claims no day is recorded by every load of the source: replaced too
        for quarantine, undated in (
            ("rejected_records", ""),
            ("rejected_files", " OR partition_date IS NULL"),
        ):
            con.execute(
                f"DELETE FROM quarantine.{quarantine} WHERE source = ? AND layer = ? "
                f"AND (partition_date >= ? AND partition_date < ?{undated})",
                [spec.name, LAYER, *window],
            )
        if loaded:
            _quarantine_records(con, spec, loaded, window, run_id, ingested_at)
        for s in staged:
            o = s.outcome
            if s.plan is None:
                con.execute(
                    "INSERT INTO quarantine.rejected_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [spec.name, LAYER, o.partition, o.path, o.sha256, o.bytes, o.reason, run_id, ingested_at],
                )
                continue
            con.execute(
                f"INSERT INTO {BRONZE_FILES} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [s.file_id, spec.name, o.partition, o.path, o.sha256, ingested_at, run_id],
            )
            o.finished_at = _now()
        if staged:
            con.executemany(
                "INSERT INTO meta.ingestion_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, spec.name, o.partition, o.path, o.sha256, o.bytes, o.rows_loaded,
                     o.rows_rejected, o.status, o.reason, o.started_at, o.finished_at or _now()]
                    for o in (s.outcome for s in staged)
                ],
            )  # fmt: skip
    return rows


# DuckDB 2.0.0 defect, see shopflow_assets/lib/duckdb_defects.py (2)
def _quarantine_records(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    loaded: list[_StagedFile],
    window: list[date],
    run_id: str,
    ingested_at: datetime,
) -> None:
    """Every file's rejected records in one INSERT: one per file would let a file without rejects
    append nothing before a big one, which DuckDB 2.0.0 then hides (see the module docstring)."""
    union = " UNION ALL ".join(
        "SELECT ?::DATE AS partition_date, ? AS source_file, record_number, record_key, rule, reason, raw_record "
        f"FROM ({s.plan.rejects_sql})"
        for s in loaded
    )
    con.execute(
        f"""INSERT INTO quarantine.rejected_records
        SELECT ?, ?, partition_date, source_file, record_number, record_key, rule, {printable_sql("reason")},
               raw_record,
               ?, ?::TIMESTAMP
        FROM ({union})""",
        [
            spec.name,
            LAYER,
            run_id,
            ingested_at,
            *(v for s in loaded for v in (s.outcome.partition, s.outcome.path)),
        ],
    )
    counts = dict(
        con.execute(
            "SELECT source_file, count(*) FROM quarantine.rejected_records "
            "WHERE source = ? AND layer = ? AND partition_date >= ? AND partition_date < ? GROUP BY ALL",
            [spec.name, LAYER, *window],
        ).fetchall()
    )
    for s in loaded:
        s.outcome.rows_rejected = counts.get(s.outcome.path, 0)
