"""Running a Pandera contract over one partition and turning its failures into (row, rule) pairs."""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from shopflow_assets.quality.contracts import CONTRACTS
from shopflow_assets.quality.errors import ContractError
from shopflow_assets.readers.base import ident

FAILURE_SCHEMA = {"_row_id": pl.Int64, "rule_id": pl.String, "column_name": pl.String, "value": pl.String}

# Pandera's built-in checks, named as rules: uniqueness and nullability of a column.
_BUILTIN_RULES = {"field_uniqueness": "{column}_unique", "not_nullable": "{column}_not_null"}


def validation_columns(contract: type[pa.DataFrameModel]) -> dict[str, pl.DataType | None]:
    """The contract's columns and their polars types (so the query can cast decimals to floats)."""
    schema = contract.to_schema()
    return {name: (col.dtype.type if col.dtype is not None else None) for name, col in schema.columns.items()}


def find_failures(frame: pl.DataFrame, contract: type[pa.DataFrameModel]) -> pl.DataFrame:
    """One row per failing (record, rule); `frame` must carry a `_row_id` column."""
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
        raise ContractError(f"{contract.__name__} does not fit the data: {details}")
    rule = pl.col("check")
    for builtin, template in _BUILTIN_RULES.items():
        prefix, suffix = template.split("{column}")
        rule = (
            pl.when(pl.col("check") == builtin)
            .then(pl.concat_str(pl.lit(prefix), "column", pl.lit(suffix)))
            .otherwise(rule)
        )
    row_ids = frame.get_column("_row_id")
    return cases.select(
        pl.col("index").map_batches(lambda idx: row_ids.gather(idx), return_dtype=pl.Int64).alias("_row_id"),
        rule.alias("rule_id"),
        pl.when(pl.col("schema_context") == "Column").then(pl.col("column")).alias("column_name"),
        pl.when(pl.col("schema_context") == "Column").then(pl.col("failure_case")).alias("value"),
    ).unique(["_row_id", "rule_id"])


def contract_rule_ids(contract: type[pa.DataFrameModel]) -> set[str]:
    """Every rule id the contract can report, so rules.yaml can be checked against it up front."""
    schema = contract.to_schema()
    ids = {check.name for check in schema.checks}
    for name, column in schema.columns.items():
        ids |= {check.name for check in column.checks}
        if column.unique:
            ids.add(f"{name}_unique")
        if not column.nullable:
            ids.add(f"{name}_not_null")
    return ids


def validate_candidates(
    con: duckdb.DuckDBPyConnection, candidates: str, failures: str, table: str, extra_columns: tuple[str, ...]
) -> None:
    """Validate `candidates` (with a `_row_id`) one `_partition_date` at a time against the table's
    contract, so no more than one partition is in memory; failures are appended to `failures`."""
    contract = CONTRACTS[table]
    select = ["_row_id"]
    for name, dtype in validation_columns(contract).items():
        select.append(
            f"CAST({ident(name)} AS DOUBLE) AS {ident(name)}" if dtype == pl.Float64 else ident(name)
        )
    select += [ident(c) for c in extra_columns if ident(c) not in select]
    query = f"SELECT {', '.join(select)} FROM {candidates} WHERE _partition_date = ?"
    days = [
        d for (d,) in con.execute(f"SELECT DISTINCT _partition_date FROM {candidates} ORDER BY 1").fetchall()
    ]
    for day in days:
        frame = pl.from_arrow(con.sql(query, params=[day]).to_arrow_table())  # via Arrow: no string copies
        found = find_failures(frame, contract).select(list(FAILURE_SCHEMA))
        if found.height:
            con.register("_failures_frame", found)
            con.execute(f"INSERT INTO {failures} SELECT * FROM _failures_frame")
            con.unregister("_failures_frame")


def undeclared_rules(table: str, configured: set[str]) -> set[str]:
    """Rules the contract reports but rules.yaml does not configure, and the other way round."""
    return contract_rule_ids(CONTRACTS[table]) ^ configured
