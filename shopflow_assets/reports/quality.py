"""`shopflow quality-report`: one day's silver data quality, read-only, as text or one JSON document.

The meta tables append one set of rows per run, so every figure here comes from the latest run per
(table, day): the latest build run's rule rows and score, and the latest reconciliation row (the
reconciliation check can be re-run on its own, in a run that writes nothing else).

Sections: records analysed and quality score per silver table with the change from the calendar day
before (percentage points), the overall score (sum passing / sum checked over the tables), every
rule's result, the failing records (rejected to quarantine or flagged in silver), the alerts, and the
overall score of the last seven days that have data with its trend.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from shopflow_assets.defs.silver.tables import SILVER_TABLES
from shopflow_assets.lib.warehouse import WarehouseLockedError, connect
from shopflow_assets.quality.config import SEVERITY_ORDER
from shopflow_assets.reports.failing import FailingRecord, failing_records

HISTORY_DAYS = 7
# Least-squares slope of the overall score (percentage points per calendar day) within this band is
# "stable": one bad record in a small day should not read as a trend.
TREND_TOLERANCE_PP = 0.5
# A table below min_quality_score is a WARN check, like high/medium/low rule breaches; it ranks with
# the highest of those, after critical rule breaches (the ERROR checks).
SCORE_ALERT_SEVERITY = "high"
SCORE_RULE = "quality_score"

TABLE_ORDER = list(SILVER_TABLES)
SEVERITIES = sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.__getitem__)
ORDER_SEVERITY = "list_position(getvariable('qr_severities'), severity) NULLS LAST"


def _by_table(column: str = "table_name") -> str:
    """ORDER BY terms: registry order, then any table the code no longer knows, by name."""
    return f"list_position(getvariable('qr_tables'), {column}) NULLS LAST, {column}"


# Another process holding the write lock: connect() raises duckdb's IOException, or, where it waits
# for the lock first, its own WarehouseLockedError. Either is one line for the user, not a traceback.
LOCKED_ERRORS: tuple[type[Exception], ...] = (duckdb.IOException, WarehouseLockedError)


class NoQualityData(Exception):
    """Nothing to report: no meta tables yet, or no quality scores for the day."""


@dataclass(frozen=True)
class TableScore:
    table: str
    rows_checked: int
    rows_passing: int
    rows_rejected: int
    rows_flagged: int
    duplicates_removed: int
    quality_score: float | None
    previous_quality_score: float | None
    change_pp: float | None
    min_quality_score: float


@dataclass(frozen=True)
class Overall:
    rows_checked: int
    rows_passing: int
    quality_score: float | None
    previous_quality_score: float | None
    change_pp: float | None


@dataclass(frozen=True)
class RuleResult:
    table: str
    rule: str
    name: str
    rows_checked: int
    passed: int
    failed: int
    score: float | None
    failure_rate: float
    threshold: float
    breached: bool
    severity: str
    action: str


@dataclass(frozen=True)
class Alert:
    severity: str
    table: str
    rule: str  # the rule id, or "quality_score" for a table below min_quality_score
    kind: str  # "rule" | "quality_score"
    threshold: float  # rule: max failing share; quality_score: the minimum score
    actual: float  # rule: failing share; quality_score: the table's score
    failed: int
    rows_checked: int
    message: str


@dataclass(frozen=True)
class Quarantined:
    """Records a critical rule rejected while the rule stayed within its threshold: information, not
    an alert, since the blocking `critical_rules` check passes. Above the threshold the same rule is a
    CRITICAL alert, exactly when that check fails for the partition."""

    table: str
    rule: str
    records: int


@dataclass(frozen=True)
class HistoryPoint:
    day: date
    rows_checked: int
    rows_passing: int
    quality_score: float | None


@dataclass(frozen=True)
class History:
    """Overall score of the report day and the six days before it that have data.

    trend: the least-squares slope of the score in percentage points per calendar day over those days
    (gaps count as days); above +TREND_TOLERANCE_PP "improving", below -TREND_TOLERANCE_PP "declining",
    else "stable"; "insufficient data" with fewer than two days.
    """

    days: list[HistoryPoint]
    slope_pp_per_day: float | None
    trend: str


@dataclass(frozen=True)
class QualityReport:
    day: date
    previous_day: date
    database: str
    overall: Overall
    tables: list[TableScore]
    rules: list[RuleResult]
    failing_records: list[FailingRecord]
    alerts: list[Alert]
    quarantined_by_critical_rules: list[Quarantined]
    history: History

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_default, indent=2)


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _latest(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """Temp tables of the latest run's rows: scores up to the day (history), results of the day."""
    con.execute("SET VARIABLE qr_tables = ?::VARCHAR[]", [TABLE_ORDER])
    con.execute("SET VARIABLE qr_severities = ?::VARCHAR[]", [SEVERITIES])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _qr_scores AS
        SELECT * FROM meta.quality_scores WHERE partition_date <= ?
        QUALIFY row_number() OVER (PARTITION BY table_name, partition_date
                                   ORDER BY evaluated_at DESC, run_id DESC) = 1""",
        [day],
    )
    # Rule rows: the whole set of the latest build run. Reconciliation rows ('check'): the latest
    # one, since the check also runs on its own, writing nothing else.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _qr_results AS
        SELECT * FROM meta.quality_results WHERE partition_date = ? AND action <> 'check'
        QUALIFY run_id = first_value(run_id) OVER (PARTITION BY table_name
                                                   ORDER BY evaluated_at DESC, run_id DESC)
        UNION ALL
        SELECT * FROM meta.quality_results WHERE partition_date = ? AND action = 'check'
        QUALIFY row_number() OVER (PARTITION BY table_name, rule_id ORDER BY evaluated_at DESC, run_id DESC) = 1""",
        [day, day],
    )


def _tables(con: duckdb.DuckDBPyConnection, day: date) -> list[TableScore]:
    rows = con.execute(
        f"""SELECT c.table_name, c.rows_checked, c.rows_passing, c.rows_rejected, c.rows_flagged,
                   c.duplicates_removed, c.quality_score, p.quality_score,
                   (c.quality_score - p.quality_score) * 100, c.min_quality_score
        FROM _qr_scores c LEFT JOIN _qr_scores p
          ON p.table_name = c.table_name AND p.partition_date = c.partition_date - 1
        WHERE c.partition_date = ?
        ORDER BY {_by_table("c.table_name")}""",
        [day],
    ).fetchall()
    return [TableScore(*r) for r in rows]


def _rules(con: duckdb.DuckDBPyConnection) -> list[RuleResult]:
    """Every rule of the day; a table's reconciliation last. Tables with nothing delivered that day
    are left out unless their reconciliation found something."""
    rows = con.execute(
        f"""SELECT table_name, rule_id, rule_name, rows_checked, passed, failed,
                   passed / NULLIF(rows_checked, 0), failure_rate, threshold, breached, severity, action
        FROM _qr_results WHERE rows_checked > 0 OR failed > 0 OR breached
        ORDER BY {_by_table()}, action = 'check', {ORDER_SEVERITY}, rule_id"""
    ).fetchall()
    return [RuleResult(*r) for r in rows]


# One meaning with the blocking `critical_rules` check: a critical rule is an alert when it breached
# its threshold (the check failed for the day); its rejected records below that are information.
_QUARANTINED_BY_CRITICAL = "severity = 'critical' AND action = 'reject' AND NOT breached AND failed > 0"


def _alerts(con: duckdb.DuckDBPyConnection, day: date) -> list[Alert]:
    """Breached rules (reconciliation included) and tables below their minimum score, most severe
    first; critical rules within their threshold that quarantined records are information
    (_quarantined), not alerts."""
    rows = con.execute(
        f"""SELECT * FROM (
            SELECT severity, table_name, rule_id, 'rule' AS kind, threshold, failure_rate AS actual,
                   failed, rows_checked, rule_name
            FROM _qr_results WHERE breached
            UNION ALL
            SELECT ?, table_name, ?, 'quality_score', min_quality_score, quality_score,
                   rows_checked - rows_passing, rows_checked, NULL
            FROM _qr_scores WHERE partition_date = ? AND quality_score < min_quality_score)
        ORDER BY {ORDER_SEVERITY}, {_by_table()}, kind = 'quality_score', rule_id""",
        [SCORE_ALERT_SEVERITY, SCORE_RULE, day],
    ).fetchall()
    alerts = []
    for severity, table, rule, kind, threshold, actual, failed, checked, name in rows:
        if kind == SCORE_RULE:
            message = (
                f"quality score {actual:.2%} below the minimum {threshold:.2%} "
                f"({failed} of {checked} records failed a rule)"
            )
        else:
            message = (
                f"failure rate {actual:.2%} ({failed} of {checked}) above the {severity} threshold "
                f"{threshold:.2%}: {name}"
            )
        alerts.append(Alert(severity, table, rule, kind, threshold, actual, failed, checked, message))
    return alerts


def _quarantined(con: duckdb.DuckDBPyConnection) -> list[Quarantined]:
    rows = con.execute(
        f"""SELECT table_name, rule_id, failed FROM _qr_results WHERE {_QUARANTINED_BY_CRITICAL}
        ORDER BY {_by_table()}, rule_id"""
    ).fetchall()
    return [Quarantined(*r) for r in rows]


def _history(con: duckdb.DuckDBPyConnection) -> History:
    rows = con.execute(
        f"""SELECT partition_date, sum(rows_checked)::BIGINT, sum(rows_passing)::BIGINT,
                   sum(rows_passing) / NULLIF(sum(rows_checked), 0)
        FROM _qr_scores GROUP BY partition_date ORDER BY partition_date DESC LIMIT {HISTORY_DAYS}"""
    ).fetchall()
    days = [HistoryPoint(*r) for r in reversed(rows)]
    points = [(p.day, p.quality_score) for p in days if p.quality_score is not None]
    slope = None
    if len(points) >= 2:
        con.execute("CREATE OR REPLACE TEMP TABLE _qr_points (day DATE, score DOUBLE)")
        con.executemany("INSERT INTO _qr_points VALUES (?, ?)", points)
        (slope,) = con.execute(
            "SELECT regr_slope(score * 100, day - (SELECT min(day) FROM _qr_points)) FROM _qr_points"
        ).fetchone()
    if slope is None:
        trend = "insufficient data"
    elif slope > TREND_TOLERANCE_PP:
        trend = "improving"
    elif slope < -TREND_TOLERANCE_PP:
        trend = "declining"
    else:
        trend = "stable"
    return History(days=days, slope_pp_per_day=slope, trend=trend)


def build_report(con: duckdb.DuckDBPyConnection, day: date, database: str = "") -> QualityReport:
    """Everything the report shows for the day; raises NoQualityData when the day has no scores."""
    try:
        _latest(con, day)
    except duckdb.CatalogException:
        raise NoQualityData(f"The warehouse at {database} has no quality results yet.") from None
    tables = _tables(con, day)
    if not tables:
        raise NoQualityData(
            f"No quality results for {day} in {database}: materialize the silver assets for that day."
        )
    history = _history(con)
    previous = day - timedelta(days=1)
    current = history.days[-1]
    before = next((p for p in history.days if p.day == previous), None)
    change = None
    if before is not None and before.quality_score is not None and current.quality_score is not None:
        change = (current.quality_score - before.quality_score) * 100
    overall = Overall(
        rows_checked=current.rows_checked,
        rows_passing=current.rows_passing,
        quality_score=current.quality_score,
        previous_quality_score=before.quality_score if before else None,
        change_pp=change,
    )
    return QualityReport(
        day=day,
        previous_day=previous,
        database=database,
        overall=overall,
        tables=tables,
        rules=_rules(con),
        failing_records=failing_records(con, day, TABLE_ORDER),
        alerts=_alerts(con, day),
        quarantined_by_critical_rules=_quarantined(con),
        history=history,
    )


def print_quality_report(database: Path, day: str, as_json: bool = False) -> int:
    """The CLI entry point: 0 with the report on stdout; 1 with one line on stderr when there is
    nothing to report; 2 for a malformed date."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        print(f"--date must be YYYY-MM-DD, got {day!r}", file=sys.stderr)
        return 2
    if not database.exists():
        print(
            f"No warehouse at {database}: run `make demo` or materialize some assets first.", file=sys.stderr
        )
        return 1
    try:
        with connect(database, read_only=True) as con:
            report = build_report(con, when, str(database))
    except NoQualityData as exc:
        print(exc, file=sys.stderr)
        return 1
    except LOCKED_ERRORS as exc:
        print(f"Cannot open the warehouse at {database}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if as_json:
        print(report.to_json())
    else:
        from shopflow_assets.reports.text import render_text

        print(render_text(report))
    return 0
