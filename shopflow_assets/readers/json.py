"""JSON documents: the record array is unnested in DuckDB and typed column by column."""

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
    if not probe.utf8:
        raise FileRejected("file is not valid UTF-8 (JSON must be UTF-8)")
    con.execute(
        # a UTF-8 BOM is allowed, as in CSV: JSON itself has no place for it
        f"CREATE OR REPLACE TEMP TABLE {out.temp('json_doc')} AS SELECT "
        f"CASE WHEN starts_with(content, chr(65279)) THEN content[2:] ELSE content END AS content "
        f"FROM read_text({sql_str(str(file.path))})"
    )
    valid, kind = con.execute(
        f"""SELECT json_valid(content),
                   CASE WHEN json_valid(content) THEN json_type(json_extract(content, {sql_str(spec.records_path)})) END
            FROM {out.temp("json_doc")}"""
    ).fetchone()
    if not valid:
        raise FileRejected("not valid JSON (truncated or malformed document)")
    if kind != "ARRAY":
        where = "the top level" if spec.records_path == "$" else spec.records_path
        raise FileRejected(f"expected an array of {spec.name} records at {where}, found {kind or 'nothing'}")

    doc_items, doc_errors = typed_select(
        spec.document_columns, lambda c: f"json_extract_string(doc, {sql_str(c.json_path)})"
    )
    items, errors = typed_select(
        spec.columns,
        lambda c: f"json_extract_string(rec, {sql_str(c.json_path)})",
        lambda c: f"json_extract(rec, {sql_str(c.json_path)})",
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out.temp("json_typed")} AS
        WITH doc AS (SELECT content::JSON AS doc FROM {out.temp("json_doc")}),
        arr AS (SELECT doc, CAST(json_extract(doc, {sql_str(spec.records_path)}) AS JSON[]) AS recs FROM doc),
        recs AS (SELECT doc, i AS _record_number, recs[i] AS rec FROM arr, range(1, len(recs) + 1) t(i))
        SELECT {", ".join([*doc_items, *items])}, _record_number,
               CASE WHEN json_type(rec) = 'OBJECT' THEN list_concat({doc_errors}, {errors})
                    ELSE ['record is not a JSON object'] END AS _errors,
               CASE WHEN json_type(rec) = 'OBJECT' THEN json_extract_string(rec, {sql_str("$." + spec.key)}) END
                   AS _key,
               rec::VARCHAR AS _raw
        FROM recs"""
    )
    names = ", ".join(ident(c.name) for c in spec.all_columns)
    typed = out.temp("json_typed")
    (records,) = con.execute(f"SELECT count(*) FROM {typed}").fetchone()
    return Prepared(
        rows_sql=f"SELECT {names}, _record_number FROM {typed} WHERE len(_errors) = 0",
        rejects_sql=f"""
            SELECT _record_number AS record_number, _key AS record_key, CASE WHEN _errors = ['record is not a JSON object'] THEN 'not_an_object' ELSE 'type_cast' END AS rule,
                   array_to_string(_errors, '; ') AS reason, _raw AS raw_record
            FROM {typed} WHERE len(_errors) > 0""",
        records=records,
    )
