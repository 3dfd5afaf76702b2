"""Parquet: DuckDB reads the file; each contract column is cast and failures are rejected."""

from __future__ import annotations

import duckdb

from shopflow_assets.landing import LandingFile
from shopflow_assets.lib.sql import ident, sql_str
from shopflow_assets.readers.base import FileProbe, FileRejected, Prepared, Staged
from shopflow_assets.readers.typing import typed_select
from shopflow_assets.sources import SourceSpec


def prepare(
    con: duckdb.DuckDBPyConnection, file: LandingFile, spec: SourceSpec, probe: FileProbe, out: Staged
) -> Prepared:
    if probe.size == 0:
        raise FileRejected("file is empty (0 bytes)")
    source = f"read_parquet({sql_str(str(file.path))}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise FileRejected(f"cannot read Parquet file: {str(exc).splitlines()[0]}") from None
    present = {row[0].lower(): row[0] for row in described}
    missing = [c for c in spec.column_names if c not in present]
    if missing:
        raise FileRejected(f"Parquet file lacks contract columns: {', '.join(missing)}")

    def raw(c) -> str:
        return f"p.{ident(present[c.name])}::VARCHAR"

    items, errors = typed_select(spec.columns, raw, lambda c: f"p.{ident(present[c.name])}")
    packed = ", ".join(f"{ident(c)} := p.{ident(present[c])}" for c in spec.column_names)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {out.temp("parquet_typed")} AS
            SELECT {", ".join(items)}, p.file_row_number + 1 AS _record_number, {errors} AS _errors,
                   {raw(spec.columns[spec.column_names.index(spec.key)])} AS _key,
                   to_json(struct_pack({packed}))::VARCHAR AS _raw
            FROM {source} p"""
        )
    except duckdb.Error as exc:
        raise FileRejected(f"cannot read Parquet file: {str(exc).splitlines()[0]}") from None
    names = ", ".join(ident(c) for c in spec.column_names)
    typed = out.temp("parquet_typed")
    (records,) = con.execute(f"SELECT count(*) FROM {typed}").fetchone()
    return Prepared(
        rows_sql=f"SELECT {names}, _record_number FROM {typed} WHERE len(_errors) = 0",
        rejects_sql=f"""
            SELECT _record_number AS record_number, _key AS record_key, 'type_cast' AS rule,
                   array_to_string(_errors, '; ') AS reason, _raw AS raw_record
            FROM {typed} WHERE len(_errors) > 0""",
        records=records,
    )
