"""Versioned master data: turn a sequence of states into versions, set-based, in DuckDB.

The master tables (products, customers, customer_id_map, customer_duplicates) keep one row per
entity per change: `valid_from` / `valid_to` (half-open, whole UTC days, NULL = current) and
`is_current`. Their input is a ledger of accepted delivered records (one row per record, by delivery
day). The state on a delivery day D is computed from the ledger alone (records delivered on or before
D), so the versions are a function of the deliveries, never of the order in which days were built.

A build of the window [start, end) recomputes the states on every delivery day from `start` on
(only the new day's, for the latest day): versions that opened after w0 (the last delivery day before
`start`) are replaced, and the ones open at w0, the stored state the window cannot change, are
continued or closed. Earlier versions cannot change. A window whose deliveries did not change
recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import duckdb

from shopflow_assets.lib.schema import MASTER_TABLES
from shopflow_assets.lib.sql import ident

MIGRATE_COMMAND = "shopflow migrate-master-data"
DAYS = "_vd_days"


class MasterDataShapeError(RuntimeError):
    """The warehouse holds master data in the old per-day snapshot shape."""


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def snapshot_shaped(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Master tables still in the old shape (one full copy per day, no valid_from)."""
    return [
        name
        for (name,) in con.execute(
            """SELECT t.table_name FROM duckdb_tables() t
            WHERE t.database_name = current_database() AND t.schema_name = 'silver' AND t.table_name IN $names
              AND NOT EXISTS (SELECT 1 FROM duckdb_columns() c WHERE c.database_name = t.database_name
                              AND c.schema_name = 'silver' AND c.table_name = t.table_name
                              AND c.column_name = 'valid_from')
            ORDER BY 1""",
            {"names": list(MASTER_TABLES)},
        ).fetchall()
    ]


def require_versioned(con: duckdb.DuckDBPyConnection) -> None:
    """Fail loudly, naming the command that converts it, instead of mixing shapes silently."""
    old = snapshot_shaped(con)
    if old:
        raise MasterDataShapeError(
            f"silver.{', silver.'.join(old)} still hold per-day snapshots from an older ShopFlow; "
            f"convert the warehouse to versioned master data with `{MIGRATE_COMMAND}` and run again"
        )


def window_had_deliveries(con: duckdb.DuckDBPyConnection, ledger: str, start: date, end: date) -> bool:
    """Whether the ledger holds records in the window (call before and after replacing it)."""
    if not _exists(con, "silver", ledger):
        return False
    return bool(
        con.execute(
            f"SELECT count(*) FROM silver.{ident(ledger)} WHERE _partition_date >= ? AND _partition_date < ?",
            [start, end],
        ).fetchone()[0]
    )


def state_days(con: duckdb.DuckDBPyConnection, ledger: str, start: date, changed: bool) -> date | None:
    """Create _vd_days(day, idx): every delivery day from start on, none when the window changed
    nothing. Returns w0, the last delivery day before start."""
    (w0,) = con.execute(
        f"SELECT max(_partition_date) FROM silver.{ident(ledger)} WHERE _partition_date < ?", [start]
    ).fetchone()
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {DAYS} AS
        SELECT day, row_number() OVER (ORDER BY day) AS idx FROM (
            SELECT DISTINCT _partition_date AS day FROM silver.{ident(ledger)} WHERE _partition_date >= $start)
        WHERE $changed""",
        {"start": start, "changed": changed},
    )
    return w0


def latest_as_of(ledger: str, key: str) -> str:
    """For every state day, the latest ledger record of each key delivered by then, with the day the
    key was first delivered."""
    return f"""
    SELECT d.day, v.*, min(v._partition_date) OVER (PARTITION BY d.day, v.{key}) AS _first_seen
    FROM {DAYS} d JOIN silver.{ident(ledger)} v ON v._partition_date <= d.day
    QUALIFY row_number() OVER (PARTITION BY d.day, v.{key}
                               ORDER BY v._partition_date DESC, v._source_file DESC, v._record_number DESC) = 1"""


def _digest(attributes: Sequence[str], alias: str = "") -> str:
    """What makes two states of an entity the same version."""
    prefix = f"{alias}." if alias else ""
    return (
        "md5(to_json(struct_pack("
        + ", ".join(f"{ident(c)} := {prefix}{ident(c)}" for c in attributes)
        + ")))"
    )


def _same(entity: Sequence[str], a: str, b: str) -> str:
    return " AND ".join(f"{a}.{ident(c)} IS NOT DISTINCT FROM {b}.{ident(c)}" for c in entity)


def merge_versions(
    con: duckdb.DuckDBPyConnection,
    target: str,
    state: str,
    entity: Sequence[str],
    attributes: Sequence[str],
    w0: date | None,
    changed: bool,
    run_id: str,
    at: datetime,
) -> None:
    """Versions of silver.<target> from `state` (a temp table with `day`, the entity, attribute and
    lineage columns; one row per entity per state day in _vd_days).

    A version is an island of consecutive state days on which the entity has the same attributes; it
    ends on the next state day where the entity is absent (removed) or different. An island on the
    first state day equal to a stored version open at w0 continues that version."""
    ent = ", ".join(ident(c) for c in entity)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _vm_new AS
        WITH s AS (SELECT s.*, d.idx, {_digest(attributes)} AS _h FROM {state} s JOIN {DAYS} d USING (day)),
        g AS (SELECT *, idx - row_number() OVER (PARTITION BY {ent}, _h ORDER BY idx) AS _grp FROM s),
        i AS (SELECT *, max(idx) OVER (PARTITION BY {ent}, _h, _grp) AS _last,
                     row_number() OVER (PARTITION BY {ent}, _h, _grp ORDER BY idx) AS _rn FROM g)
        SELECT i.* EXCLUDE (day, idx, _grp, _last, _rn), i.day AS valid_from, n.day AS valid_to,
               n.day IS NULL AS is_current, i.day AS _partition_date,
               $run_id AS _run_id, $at::TIMESTAMP AS _processed_at, i.idx = 1 AS _first
        FROM i LEFT JOIN {DAYS} n ON n.idx = i._last + 1
        WHERE i._rn = 1""",
        {"run_id": run_id, "at": at},
    )
    table = f"silver.{ident(target)}"
    if not _exists(con, "silver", target):
        columns = con.execute("DESCRIBE SELECT * EXCLUDE (_h, _first) FROM _vm_new").fetchall()
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{ident(c[0])} {c[1]}' for c in columns)})")
    if not changed:  # the window's deliveries are what they were: nothing to recompute
        return
    con.execute(f"DELETE FROM {table} WHERE $w0::DATE IS NULL OR valid_from > $w0", {"w0": w0})
    if w0 is not None:
        _continue_open_versions(con, table, entity, attributes, w0)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * EXCLUDE (_h, _first) FROM _vm_new")


def _continue_open_versions(
    con: duckdb.DuckDBPyConnection, table: str, entity: Sequence[str], attributes: Sequence[str], w0: date
) -> None:
    """The stored versions open at w0 (the state the window cannot change): continued by an equal
    island on the first state day (taking its end, the island is not inserted), else closed on the
    first state day, or current again when no state day is left."""
    open_at_w0 = "t.valid_from <= $w0 AND (t.valid_to IS NULL OR t.valid_to > $w0)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _vm_open AS
        SELECT {", ".join(f"t.{ident(c)}" for c in entity)}, n._first IS NOT NULL AS continued,
               CASE WHEN n._first IS NOT NULL THEN n.valid_to ELSE (SELECT min(day) FROM {DAYS}) END AS valid_to
        FROM {table} t LEFT JOIN _vm_new n ON n._first AND {_same(entity, "n", "t")} AND n._h = {_digest(attributes, "t")}
        WHERE {open_at_w0}""",
        {"w0": w0},
    )
    con.execute(
        f"""UPDATE {table} AS t SET valid_to = o.valid_to, is_current = o.valid_to IS NULL
        FROM _vm_open o WHERE {_same(entity, "t", "o")} AND {open_at_w0}""",
        {"w0": w0},
    )
    con.execute(
        f"DELETE FROM _vm_new n USING _vm_open o WHERE n._first AND o.continued AND {_same(entity, 'n', 'o')}"
    )
