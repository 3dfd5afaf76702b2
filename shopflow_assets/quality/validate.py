"""Running a Pandera contract over candidates and turning its failures into (row, rule) pairs.

The rules, their readable names and the columns that explain a failure are read from the contract
(`contract_rules`); nothing else lists them. Candidates stream through the contract in batches of
BATCH_ROWS records, so the memory Pandera and polars use does not grow with the day: every rule
judges one record at a time (uniqueness across days is a helper column the build fills in SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from shopflow_assets.lib.sql import ident
from shopflow_assets.quality.contracts import CONTRACTS
from shopflow_assets.quality.errors import ContractError

FAILURE_SCHEMA = {"_row_id": pl.Int64, "rule_id": pl.String}
BATCH_ROWS = 250_000
NOT_NULL = "not_nullable"  # Pandera's own nullability check: the rule `<column>_not_null`


@dataclass(frozen=True)
class Rule:
    rule_id: str
    name: str  # readable, shown in checks, quarantine reasons and reports
    columns: tuple[str, ...]  # the values that explain a failure


def _check_rule(check: pa.Check, column: str | None) -> Rule:
    shown = (check.statistics or {}).get("columns") or ((column,) if column else ())
    return Rule(check.name, check.title or check.name, tuple(shown))


@cache
def contract_rules(table: str) -> dict[str, Rule]:
    """Every rule of the table's contract, by rule id."""
    schema = CONTRACTS[table]
    rules: dict[str, Rule] = {}
    for name, column in schema.columns.items():
        if not column.nullable:
            rules[f"{name}_not_null"] = Rule(f"{name}_not_null", f"{name} is present", (name,))
        rules |= {check.name: _check_rule(check, name) for check in column.checks}
    rules |= {check.name: _check_rule(check, None) for check in schema.checks}
    return rules


@cache
def _rule_ids(table: str) -> pl.DataFrame:
    """(schema_context, column, check_number) of each check -> its rule id, to name failure cases."""
    schema = CONTRACTS[table]
    rows = [("DataFrameSchema", schema.name, i, c.name) for i, c in enumerate(schema.checks)]
    rows += [
        ("Column", name, i, c.name) for name, col in schema.columns.items() for i, c in enumerate(col.checks)
    ]
    return pl.DataFrame(
        rows, schema={"schema_context": pl.String, "column": pl.String, "check_number": pl.Int32, "rule_id": pl.String},
        orient="row",
    )  # fmt: skip


def rule_columns(table: str) -> dict[str, tuple[str, ...]]:
    return {r.rule_id: r.columns for r in contract_rules(table).values()}


def validation_columns(table: str, extra_columns: tuple[str, ...]) -> dict[str, pl.DataType | None]:
    """What the contract reads: its columns with their polars types (so the query can cast decimals
    to floats), the table's extra columns and the columns its rules show."""
    schema = CONTRACTS[table]
    columns = {
        name: (col.dtype.type if col.dtype is not None else None) for name, col in schema.columns.items()
    }
    for name in (*extra_columns, *(c for r in contract_rules(table).values() for c in r.columns)):
        columns.setdefault(name, None)
    return columns


def find_failures(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """One row per failing (record, rule); `frame` must carry a `_row_id` column."""
    contract = CONTRACTS[table]
    try:
        contract.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    structural = cases.filter(pl.col("index").is_null())
    if structural.height:
        details = "; ".join(
            f"{r['column']}: {r['check']} ({r['failure_case']})" for r in structural.to_dicts()
        )
        raise ContractError(f"{contract.name} does not fit the data: {details}")
    named = cases.join(_rule_ids(table), on=["schema_context", "column", "check_number"], how="left")
    rule = (
        pl.when(pl.col("check") == NOT_NULL)
        .then(pl.concat_str("column", pl.lit("_not_null")))
        .otherwise(pl.col("rule_id"))
    )
    row_ids = frame.get_column("_row_id")
    return named.select(
        pl.col("index").map_batches(lambda idx: row_ids.gather(idx), return_dtype=pl.Int64).alias("_row_id"),
        rule.alias("rule_id"),
    ).unique()


def validate_candidates(
    con: duckdb.DuckDBPyConnection, candidates: str, failures: str, table: str, extra_columns: tuple[str, ...]
) -> None:
    """Stream `candidates` (with a `_row_id`) through the table's contract in batches; the failures
    are appended to `failures` once the stream is read (the connection serves one result at a time)."""
    select = ["_row_id"]
    for name, dtype in validation_columns(table, extra_columns).items():
        select.append(
            f"CAST({ident(name)} AS DOUBLE) AS {ident(name)}" if dtype == pl.Float64 else ident(name)
        )
    reader = con.sql(f"SELECT {', '.join(select)} FROM {candidates}").to_arrow_reader(BATCH_ROWS)
    found = [
        f
        for batch in reader
        if (f := find_failures(pl.from_arrow(batch), table)).height  # via Arrow: no string copies
    ]
    if found:
        con.register("_failures_frame", pl.concat(found))
        con.execute(f"INSERT INTO {failures} SELECT _row_id, rule_id FROM _failures_frame")
        con.unregister("_failures_frame")


def undeclared_rules(table: str, configured: set[str]) -> set[str]:
    """Rules the contract declares but rules.yaml does not configure, and the other way round."""
    return set(contract_rules(table)) ^ configured
