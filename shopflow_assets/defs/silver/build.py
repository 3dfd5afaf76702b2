"""The silver build: candidates -> deduplicated -> validated by the Pandera contract -> routed.

Everything heavy is SQL in DuckDB; the contract's columns stream to polars for Pandera in batches
(quality/validate.py), and only the (row, rule) failures come back. The window's silver rows, quarantine
rows, removed duplicates and quality results are swapped in one transaction.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import duckdb

from shopflow_assets.defs.silver.stale import clear_stale
from shopflow_assets.defs.silver.tables import LOOKUP_COLUMNS, SilverTable
from shopflow_assets.defs.silver.versions import require_versioned, state_days, window_had_deliveries
from shopflow_assets.lib.sql import ident, sql_str
from shopflow_assets.lib.transaction import transaction
from shopflow_assets.quality.config import SEVERITY_ORDER, QualityConfig
from shopflow_assets.quality.rules import FIRST_DELIVERED, detail_sql
from shopflow_assets.sources import SOURCES

LAYER = "silver"
SAMPLE_SIZE = 5
# The candidates live in a scratch database file of the build's own (see _scratch); `_sv_cand` is a
# temp view over them.
SCRATCH = "_sv_scratch"
CANDIDATES = f"{SCRATCH}._sv_cand"

# DuckDB has no initcap; names and cities are standardised to Title Case with this macro.
TITLE_CASE_MACRO = """
CREATE OR REPLACE TEMP MACRO title_case(s) AS NULLIF(array_to_string(list_transform(
    string_split(lower(trim(s)), ' '), lambda w: upper(left(w, 1)) || substr(w, 2)), ' '), '')"""


class QualityRulesError(ValueError):
    """rules.yaml and the contract disagree about which rules exist."""


@dataclass
class RuleOutcome:
    day: date
    rule_id: str
    name: str
    severity: str
    action: str
    rows_checked: int
    failed: int
    threshold: float
    samples: list[dict] = field(default_factory=list)

    @property
    def failure_rate(self) -> float:
        return self.failed / self.rows_checked if self.rows_checked else 0.0

    @property
    def breached(self) -> bool:
        return self.failure_rate > self.threshold

    @property
    def blocking(self) -> bool:
        """A critical rule above its threshold: a systematically broken delivery stops downstream
        assets, whether its records were rejected or kept; below it, rejects are quarantined as usual."""
        return self.severity == "critical" and self.breached


@dataclass
class DayScore:
    day: date
    rows_checked: int
    rows_passing: int
    rows_rejected: int
    rows_flagged: int
    duplicates_removed: int

    @property
    def quality_score(self) -> float | None:
        return self.rows_passing / self.rows_checked if self.rows_checked else None


@dataclass
class SilverBuild:
    table: str
    start: date
    end: date
    min_quality_score: float
    scores: list[DayScore]
    rules: list[RuleOutcome]

    def total(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.scores)

    @property
    def quality_score(self) -> float | None:
        checked = self.total("rows_checked")
        return self.total("rows_passing") / checked if checked else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _window_sql(column: str, start: date, end: date) -> str:
    return f"{column} >= DATE {sql_str(start.isoformat())} AND {column} < DATE {sql_str(end.isoformat())}"


def _lookup_views(con: duckdb.DuckDBPyConnection, table: SilverTable) -> None:
    existing = {
        n
        for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'silver'"
        ).fetchall()
    }
    for dep in table.silver_deps:
        columns = LOOKUP_COLUMNS[dep]
        source = (
            f"SELECT {', '.join(ident(c) for c in columns)} FROM silver.{ident(dep)}"
            if dep in existing
            else f"SELECT {', '.join(f'NULL::{t} AS {ident(c)}' for c, t in columns.items())} WHERE false"
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW lookup_{dep} AS {source}")


def _stage_candidates(con: duckdb.DuckDBPyConnection, table: SilverTable, start: date, end: date) -> None:
    con.execute(TITLE_CASE_MACRO)
    _lookup_views(con, table)
    # Row ids from the table's own rowid: row_number() OVER () over the joined candidates costs more
    # than the whole query. FIRST_DELIVERED is filled where the contract has a cross-day rule.
    # Nothing depends on the row ids following the files' order (samples and duplicates are ranked
    # by file and record number), so DuckDB may write the table from both threads as they go.
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {CANDIDATES} AS SELECT *, NULL::BIGINT AS _row_id, "
            f"NULL::DATE AS {ident(FIRST_DELIVERED)} FROM ({table.candidates(start, end)})"
        )
    finally:
        con.execute("RESET preserve_insertion_order")
    con.execute(f"UPDATE {CANDIDATES} SET _row_id = rowid")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _sv_cand AS SELECT * FROM {CANDIDATES}")
    # Duplicate keys within a day: the latest record wins (latest file, then latest record). Only
    # the keys that repeat are ranked, which spares a sort of every candidate.
    key = ident(table.key)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sv_dups AS
        WITH repeated AS (SELECT _partition_date, {key} FROM _sv_cand WHERE {key} IS NOT NULL
                          GROUP BY ALL HAVING count(*) > 1)
        SELECT * FROM (
            SELECT _row_id, {key} AS record_key, _partition_date, _source_file, _record_number,
                   first_value(_source_file) OVER w AS kept_file,
                   first_value(_record_number) OVER w AS kept_record_number,
                   row_number() OVER w AS rank
            FROM _sv_cand SEMI JOIN repeated USING (_partition_date, {key})
            WINDOW w AS (PARTITION BY _partition_date, {key} ORDER BY _source_file DESC, _record_number DESC))
        WHERE rank > 1"""
    )
    con.execute(f"DELETE FROM {CANDIDATES} WHERE _row_id IN (SELECT _row_id FROM _sv_dups)")


@contextmanager
def _scratch(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A scratch database file for the build's candidates, removed when the build ends. DuckDB writes
    a large table there compressed, block by block, so memory does not grow with the day's size (a
    TEMP table stays in memory uncompressed: 1.2 GB for 5,000,000 orders); it is never part of the
    warehouse, so a crash leaves nothing behind in it."""
    folder = Path(tempfile.mkdtemp(prefix="shopflow-silver-"))
    con.execute(f"ATTACH {sql_str(str(folder / 'candidates.duckdb'))} AS {SCRATCH}")
    try:
        yield
    finally:
        with suppress(duckdb.Error):  # a broken connection: the folder goes all the same
            con.execute(f"DETACH {SCRATCH}")
        shutil.rmtree(folder, ignore_errors=True)


def _import_validation() -> Future[ModuleType]:
    """Pandera and polars take ~0.5 s to import; do it on a thread while DuckDB stages candidates
    (DuckDB releases the GIL), so the first run of a process does not pay for it in series."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-validation")
    future = pool.submit(importlib.import_module, "shopflow_assets.quality.validate")
    pool.shutdown(wait=False)
    return future


def _stage_first_deliveries(
    con: duckdb.DuckDBPyConnection, table: SilverTable, rules: dict[str, object]
) -> None:
    """Where the contract has a cross-day `<key>_unique` rule: each candidate's earliest earlier day
    on which its key was delivered (is in bronze). Read from the deliveries, not from silver, so the
    answer does not depend on the order in which days are built: the earliest delivery wins."""
    if FIRST_DELIVERED not in {c for r in rules.values() for c in r.columns}:
        return
    key, column = ident(table.key), ident(FIRST_DELIVERED)
    delivered = _deliveries(table)
    con.execute(
        f"""UPDATE {CANDIDATES} c SET {column} = d.first_day
        FROM (SELECT k, min(_partition_date) AS first_day FROM ({delivered})
              WHERE _partition_date < (SELECT max(_partition_date) FROM _sv_cand)
                AND k IN (SELECT {key} FROM _sv_cand) GROUP BY k) d
        WHERE c.{key} = d.k AND d.first_day < c._partition_date"""
    )


def _deliveries(table: SilverTable) -> str:
    """SQL: every delivered key (k) of the table with its day, from bronze."""
    key = ident(table.key)
    return " UNION ALL ".join(
        f"SELECT NULLIF(trim({key}), '') AS k, _partition_date FROM bronze.{ident(b)}" for b in table.bronze
    )


def _mark_later_days(
    con: duckdb.DuckDBPyConnection, table: SilverTable, start: date, end: date, run_id: str, at: datetime
) -> None:
    """Later days already built whose cross-day verdict this window's deliveries change: a key they
    kept is now delivered earlier (in this window), or a key they marked as already delivered no
    longer is. They go to meta.stale_partitions, which the stale_partitions sensor rebuilds, so the
    history is the same whatever order the days were delivered and built in."""
    rule = f"{table.key}_unique"
    ledger = table.ledger_table
    (exists,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'silver' "
        "AND table_name = ?",
        [ledger],
    ).fetchone()
    if not exists or FIRST_DELIVERED not in {c for r in _contract_rules(table).values() for c in r.columns}:
        return
    key, silver = ident(table.key), f"silver.{ident(ledger)}"
    con.execute(
        f"""INSERT INTO meta.stale_partitions
        SELECT $table, day, count(*), $rule, $run_id, $at::TIMESTAMP FROM (
            SELECT _partition_date AS day FROM {silver}
            WHERE _partition_date >= $end AND NOT list_contains(_flags, $rule)
              AND {key} IN (SELECT {key} FROM _sv_cand)
            UNION ALL
            SELECT x.day FROM (
                SELECT partition_date AS day, record_key AS k FROM quarantine.rejected_records
                WHERE source = $table AND layer = 'silver' AND rule = $rule AND partition_date >= $end
                UNION ALL
                SELECT _partition_date, {key} FROM {silver} WHERE _partition_date >= $end AND list_contains(_flags, $rule)
            ) x
            WHERE NOT EXISTS (SELECT 1 FROM ({_deliveries(table)}) b WHERE b.k = x.k AND b._partition_date < x.day)
        ) d
        WHERE NOT EXISTS (SELECT 1 FROM meta.stale_partitions s WHERE s.table_name = $table AND s.partition_date = d.day)
        GROUP BY day""",
        {"table": table.name, "rule": rule, "run_id": run_id, "at": at, "end": end},
    )


def _contract_rules(table: SilverTable) -> dict:
    """The table's contract rules (the validation module is loaded by now)."""
    return importlib.import_module("shopflow_assets.quality.validate").contract_rules(table.name)


def _route(
    con: duckdb.DuckDBPyConnection, table: SilverTable, config: QualityConfig, validation: ModuleType
) -> None:
    """Per record: rejected (any reject rule failed, with a reason naming each rule and the values
    that explain it) or kept with the ids of its flag rules."""
    settings = config.rules(table.name)
    unknown = validation.undeclared_rules(table.name, set(settings))
    if unknown:
        raise QualityRulesError(
            f"rules.yaml and the {table.name} contract disagree on rules: {', '.join(sorted(unknown))}"
        )
    rules = validation.contract_rules(table.name)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sv_rules (rule_id VARCHAR, rule_name VARCHAR, severity VARCHAR, "
        "severity_rank INTEGER, action VARCHAR, threshold DOUBLE)"
    )
    con.executemany(
        "INSERT INTO _sv_rules VALUES (?, ?, ?, ?, ?, ?)",
        [
            [
                rule_id,
                rules[rule_id].name,
                s.severity,
                SEVERITY_ORDER[s.severity],
                s.action,
                config.threshold(s),
            ]
            for rule_id, s in sorted(settings.items())
        ],
    )
    detail = detail_sql("f.rule_id", {r: rules[r].columns for r in settings}, _candidate_columns(con))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sv_verdict AS
        SELECT f._row_id,
               bool_or(r.action = 'reject') AS rejected,
               list(f.rule_id ORDER BY f.rule_id) FILTER (WHERE r.action = 'flag') AS flags,
               (list(f.rule_id ORDER BY r.severity_rank, f.rule_id) FILTER (WHERE r.action = 'reject'))[1]
                   AS reject_rule,
               string_agg(r.rule_id || ': ' || r.rule_name || coalesce(' (' || {detail} || ')', ''),
                          '; ' ORDER BY r.severity_rank, f.rule_id) FILTER (WHERE r.action = 'reject') AS reason
        FROM _sv_fail f JOIN _sv_rules r USING (rule_id) JOIN _sv_cand c USING (_row_id)
        GROUP BY f._row_id"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP VIEW _sv_ok AS
        SELECT c.* EXCLUDE (_row_id), coalesce(v.flags, []::VARCHAR[]) AS _flags
        FROM _sv_cand c LEFT JOIN _sv_verdict v USING (_row_id)
        WHERE NOT coalesce(v.rejected, false)"""
    )


def _candidate_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each candidate column, read from the alias `c`."""
    return {name: "c" for (name,) in con.execute("SELECT column_name FROM (DESCRIBE _sv_cand)").fetchall()}


def _outcomes(
    con: duckdb.DuckDBPyConnection,
    table: SilverTable,
    config: QualityConfig,
    start: date,
    end: date,
    validation: ModuleType,
) -> tuple[list[DayScore], list[RuleOutcome]]:
    in_window = _window_sql("_partition_date", start, end)
    scores = [
        DayScore(*row)
        for row in con.execute(
            # One pass over the candidates (a day can be large), not one per figure.
            f"""WITH per_day AS (
                SELECT c._partition_date, count(*) AS checked,
                       count(*) FILTER (WHERE v._row_id IS NULL) AS passing,
                       count(*) FILTER (WHERE v.rejected) AS rejected,
                       count(*) FILTER (WHERE NOT v.rejected AND len(v.flags) > 0) AS flagged
                FROM _sv_cand c LEFT JOIN _sv_verdict v USING (_row_id)
                WHERE {in_window.replace("_partition_date", "c._partition_date")} GROUP BY 1),
            dups AS (SELECT _partition_date, count(*) AS n FROM _sv_dups WHERE {in_window} GROUP BY 1)
            SELECT _partition_date, coalesce(checked, 0), coalesce(passing, 0), coalesce(rejected, 0),
                   coalesce(flagged, 0), coalesce(n, 0)
            FROM per_day FULL JOIN dups USING (_partition_date) ORDER BY 1"""
        ).fetchall()
    ]
    checked = {s.day: s.rows_checked for s in scores}
    failed = {
        (day, rule): n
        for day, rule, n in con.execute(
            f"""SELECT c._partition_date, f.rule_id, count(DISTINCT f._row_id)
            FROM _sv_fail f JOIN _sv_cand c USING (_row_id) WHERE {in_window.replace("_partition_date", "c._partition_date")}
            GROUP BY ALL"""
        ).fetchall()
    }
    samples: dict[tuple[date, str], list[dict]] = {}
    key = ident(table.key)
    rules = validation.contract_rules(table.name)
    detail = detail_sql("f.rule_id", {r.rule_id: r.columns for r in rules.values()}, _candidate_columns(con))
    for day, rule, record_key, value, source_file, record_number in con.execute(
        f"""SELECT c._partition_date, f.rule_id, c.{key}, {detail}, c._source_file, c._record_number
        FROM _sv_fail f JOIN _sv_cand c USING (_row_id)
        WHERE {in_window.replace("_partition_date", "c._partition_date")}
        QUALIFY row_number() OVER (PARTITION BY c._partition_date, f.rule_id
                                   ORDER BY c._source_file, c._record_number) <= {SAMPLE_SIZE}
        ORDER BY ALL"""
    ).fetchall():
        samples.setdefault((day, rule), []).append(
            {"key": record_key, "values": value, "file": source_file, "record": record_number}
        )
    rules = [
        RuleOutcome(
            day=day,
            rule_id=rule_id,
            name=rules[rule_id].name,
            severity=s.severity,
            action=s.action,
            rows_checked=checked[day],
            failed=failed.get((day, rule_id), 0),
            threshold=config.threshold(s),
            samples=samples.get((day, rule_id), []),
        )
        for day in sorted(checked)
        for rule_id, s in sorted(config.rules(table.name).items())
    ]
    return scores, rules


Publisher = Callable[[duckdb.DuckDBPyConnection, date, date, str, datetime], None]


def publish_rows(target: str) -> Publisher:
    """The default publisher: the window's kept candidates, as they are, into silver.<target>."""

    def _publish(con: duckdb.DuckDBPyConnection, start: date, end: date, run_id: str, at: datetime) -> None:
        select = (
            f"SELECT COLUMNS(lambda c: NOT starts_with(c, '_chk_')), ? AS _run_id, ?::TIMESTAMP AS _processed_at "
            f"FROM _sv_ok WHERE {_window_sql('_partition_date', start, end)}"
        )
        replace_window(con, target, select, [run_id, at], start, end)

    return _publish


def publish_ledger(
    con: duckdb.DuckDBPyConnection, ledger: str, start: date, end: date, run_id: str, at: datetime
) -> tuple[date | None, bool]:
    """Replace the window's rows of a master-data ledger; returns (w0, changed) for the versions to
    recompute from (see versions.state_days): nothing when the window neither had nor has deliveries."""
    before = window_had_deliveries(con, ledger, start, end)
    publish_rows(ledger)(con, start, end, run_id, at)
    changed = before or window_had_deliveries(con, ledger, start, end)
    return state_days(con, ledger, start, changed), changed


def replace_window(
    con: duckdb.DuckDBPyConnection, target: str, select: str, params: list, start: date, end: date
) -> None:
    """Create silver.<target> from the select's shape if needed, then swap the window's rows."""
    table = f"silver.{ident(target)}"
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'silver' "
        "AND table_name = ?",
        [target],
    ).fetchone()[0]
    if not exists:
        # Not CREATE TABLE AS ... LIMIT 0: in DuckDB 2.0.0 an append of no rows followed by a large
        # one in the same transaction hides the large one from filtered scans after the commit.
        # DuckDB 2.0.0 defect, see shopflow_assets/lib/duckdb_defects.py (2)
        columns = con.execute(f"DESCRIBE {select}", params).fetchall()
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{ident(c[0])} {c[1]}' for c in columns)})")
    con.execute(f"DELETE FROM {table} WHERE {_window_sql('_partition_date', start, end)}")
    con.execute(f"INSERT INTO {table} BY NAME {select}", params)


def build_silver(
    con: duckdb.DuckDBPyConnection,
    table: SilverTable,
    config: QualityConfig,
    start: date,
    end: date,
    run_id: str,
    publish: Publisher,
) -> SilverBuild:
    """Build silver for [start, end): stage, deduplicate, validate, route, then swap atomically."""
    with _scratch(con):
        return _build_silver(con, table, config, start, end, run_id, publish)


def _build_silver(
    con: duckdb.DuckDBPyConnection,
    table: SilverTable,
    config: QualityConfig,
    start: date,
    end: date,
    run_id: str,
    publish: Publisher,
) -> SilverBuild:
    require_versioned(con)
    validation = _import_validation()
    _stage_candidates(con, table, start, end)
    con.execute("CREATE OR REPLACE TEMP TABLE _sv_fail (_row_id BIGINT, rule_id VARCHAR)")
    _stage_first_deliveries(con, table, validation.result().contract_rules(table.name))
    validation.result().validate_candidates(con, "_sv_cand", "_sv_fail", table.name, table.extra_columns)
    _route(con, table, config, validation.result())
    scores, rules = _outcomes(con, table, config, start, end, validation.result())
    at = _now()
    in_window = _window_sql("c._partition_date", start, end)
    # The original record: the delivered fields of its bronze row, without the run's lineage.
    raw = (
        "coalesce("
        + ", ".join(
            f"CASE WHEN b{i}._source_file IS NOT NULL THEN to_json(struct_pack("
            + ", ".join(f"{ident(c.name)} := b{i}.{ident(c.name)}" for c in SOURCES[b].all_columns)
            + "))::VARCHAR END"
            for i, b in enumerate(table.bronze)
        )
        + ")"
    )
    joins = " ".join(
        f"LEFT JOIN bronze.{ident(b)} b{i} ON b{i}._partition_date = c._partition_date "
        f"AND b{i}._source_file = c._source_file AND b{i}._record_number = c._record_number"
        for i, b in enumerate(table.bronze)
    )
    with transaction(con):
        publish(con, start, end, run_id, at)
        clear_stale(con, table.name, start, end)
        _mark_later_days(con, table, start, end, run_id, at)
        con.execute(
            f"DELETE FROM quarantine.rejected_records WHERE source = ? AND layer = ? AND "
            f"{_window_sql('partition_date', start, end)}",
            [table.name, LAYER],
        )
        con.execute(
            f"""INSERT INTO quarantine.rejected_records
            SELECT ?, ?, c._partition_date, c._source_file, c._record_number, c.{ident(table.key)}::VARCHAR,
                   v.reject_rule, v.reason, {raw}, ?, ?::TIMESTAMP
            FROM _sv_cand c JOIN _sv_verdict v USING (_row_id) {joins}
            WHERE v.rejected AND {in_window}""",
            [table.name, LAYER, run_id, at],
        )
        con.execute(
            f"DELETE FROM meta.removed_duplicates WHERE source = ? AND {_window_sql('partition_date', start, end)}",
            [table.name],
        )
        con.execute(
            f"""INSERT INTO meta.removed_duplicates
            SELECT ?, _partition_date, record_key::VARCHAR, _source_file, _record_number, kept_file,
                   kept_record_number, ? FROM _sv_dups c WHERE {in_window}""",
            [table.name, run_id],
        )
        if rules:
            con.executemany(
                "INSERT INTO meta.quality_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, table.name, r.day, r.rule_id, r.name, r.severity, r.action, r.rows_checked,
                     r.failed, r.rows_checked - r.failed, r.failure_rate, r.threshold, r.breached, at]
                    for r in rules
                ],
            )  # fmt: skip
        if scores:
            con.executemany(
                "INSERT INTO meta.quality_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, table.name, s.day, s.rows_checked, s.rows_passing, s.rows_rejected,
                     s.rows_flagged, s.duplicates_removed, s.quality_score, config.min_quality_score, at]
                    for s in scores
                ],
            )  # fmt: skip
    return SilverBuild(
        table=table.name, start=start, end=end, min_quality_score=config.min_quality_score, scores=scores,
        rules=rules,
    )  # fmt: skip
