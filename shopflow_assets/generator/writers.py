"""Render a Frame as the bytes of a landing file, in the format its registry entry names.

The writers are driven by the registry: CSV headers are the column names, JSON nesting follows each
Column.path, Parquet columns follow the column types. Files appear atomically (written under a
``.``-prefixed temporary name, then renamed) so a sensor never picks up half a file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopflow_assets.generator.frame import STRING, Frame
from shopflow_assets.sources import Column, SourceSpec

DELIMITERS: tuple[str, ...] = (",", ";", "|", "\t")
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "latin-1")


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    encoding: str

    @classmethod
    def rotating(cls, index: int) -> CsvDialect:
        """The dialect of the index-th CSV file of a source: every delimiter and every encoding
        shows up within a few days, and all 12 combinations within 12."""
        return cls(DELIMITERS[index % len(DELIMITERS)], ENCODINGS[index % len(ENCODINGS)])


def render(frame: Frame, dialect: CsvDialect | None = None) -> bytes:
    if frame.spec.format == "csv":
        if dialect is None:
            raise ValueError("CSV files need a dialect")
        return render_csv(frame, dialect)
    if frame.spec.format == "json":
        return render_json(frame)
    return render_parquet(frame)


# --- CSV ---------------------------------------------------------------------------------------


def _quote_text(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _quote_column(values: pa.Array, delimiter: str) -> pa.Array:
    """Standard CSV quoting, only where a value needs it (delimiter, quote or line break inside)."""
    values = pc.fill_null(values, pa.scalar("", STRING))
    needs = pc.match_substring_regex(values, f'[{re.escape(delimiter)}"\r\n]')
    if not pc.any(needs).as_py():
        return values
    escaped = pc.replace_substring(values, '"', '""')
    quoted = pc.binary_join_element_wise(
        pa.scalar('"', STRING), escaped, pa.scalar('"', STRING), pa.scalar("", STRING)
    )
    return pc.if_else(needs, quoted, values)


def _as_text(values: list[Any] | pa.Array) -> pa.Array:
    return values.cast(STRING) if isinstance(values, pa.Array) else pa.array(values, STRING)


def render_csv(frame: Frame, dialect: CsvDialect) -> bytes:
    delimiter = dialect.delimiter
    header = delimiter.join(_quote_text(name, delimiter) for name in frame.spec.column_names)
    if dialect.encoding == "utf-8-sig":
        header = "\ufeff" + header
    columns = [_quote_column(_as_text(frame.column(name)), delimiter) for name in frame.columns]
    lines = pc.binary_join_element_wise(*columns, pa.scalar(delimiter, STRING))
    if frame.line_overrides:
        rows = sorted(frame.line_overrides)
        mask = np.zeros(len(frame), dtype=bool)
        mask[rows] = True
        replaced = [delimiter.join(_quote_text(v, delimiter) for v in frame.line_overrides[r]) for r in rows]
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(replaced, STRING))
    body = _join_lines(pa.concat_arrays([pa.array([header], STRING), lines, pa.array([""], STRING)]))
    if dialect.encoding == "latin-1" and not body.isascii():
        body = body.decode("utf-8").encode("latin-1")
    return body


def _join_lines(lines: pa.Array) -> bytes:
    """The lines joined by newlines as one UTF-8 byte string (a single Arrow kernel call)."""
    as_list = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
    return pc.binary_join(as_list, pa.scalar("\n", STRING))[0].as_buffer().to_pybytes()


# --- JSON --------------------------------------------------------------------------------------


def _json_keys(column: Column) -> list[str]:
    return column.json_path.removeprefix("$.").split(".")


def _nest(columns: tuple[Column, ...], values: list[Any]) -> dict[str, Any]:
    """Flat registry columns -> one nested JSON record (``$.name.first`` -> ``{"name": {"first"}}``)."""
    record: dict[str, Any] = {}
    for column, value in zip(columns, values, strict=True):
        *parents, leaf = _json_keys(column)
        node = record
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return record


def render_json(frame: Frame) -> bytes:
    """One record per line inside the document the registry's records_path describes."""
    spec = frame.spec
    columns = {name: frame.column(name) for name in frame.columns}
    lines = []
    for row in range(len(frame)):
        record = _nest(spec.columns, [columns[c.name][row] for c in spec.columns])
        lines.append("  " + json.dumps(record, ensure_ascii=False))
    array = "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"
    if spec.records_path == "$":
        return (array + "\n").encode()
    document = _nest(spec.document_columns, [frame.document[c.name] for c in spec.document_columns])
    head = "".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}, " for k, v in document.items())
    return ("{" + head + json.dumps(spec.records_path.removeprefix("$.")) + ": " + array + "}\n").encode()


# --- Parquet -----------------------------------------------------------------------------------

# DATE and TIMESTAMP columns travel as text on purpose: a CRM export can then carry an impossible
# date such as 2024-02-30, which bronze has to catch when it casts.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
    "DATE": pa.string(),
    "TIMESTAMP": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}


def arrow_schema(spec: SourceSpec) -> pa.Schema:
    return pa.schema([(c.name, _ARROW_TYPES.get(c.type, pa.float64())) for c in spec.columns])


def render_parquet(frame: Frame) -> bytes:
    schema = arrow_schema(frame.spec)
    table = pa.table({name: pa.array(frame.column(name), schema.field(name).type) for name in frame.columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


# --- files -------------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write under a hidden temporary name, then rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
