"""What every reader shares: the file probe, the staging contract, and the file-level error."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

_CHUNK = 1 << 22


@dataclass(frozen=True)
class Staged:
    """Names for the temp relations a reader creates for one file, unique per file so that several
    files can be prepared before the loader's one transaction."""

    prefix: str

    def temp(self, name: str) -> str:
        return f"{self.prefix}_{name}"


# Called inside the loader's transaction after the rows are inserted: (con, table, file filter SQL).
Renumber = Callable[[duckdb.DuckDBPyConnection, str, str], None]


@dataclass(frozen=True)
class Prepared:
    """What a reader hands the loader, to run inside the loader's one transaction."""

    rows_sql: str  # SELECT <the spec's columns>, _record_number
    rejects_sql: str  # SELECT record_number, record_key, rule, reason, raw_record; valid after rows_sql ran
    renumber: Renumber | None = None  # sets _record_number once the rows and rejects are in (CSV)


class FileRejected(Exception):
    """The whole file cannot be read; the message is the reason users see."""


@dataclass(frozen=True)
class FileProbe:
    sha256: str
    size: int
    head: bytes  # the first few KiB, for sniffing
    utf8: bool  # the whole file decodes as UTF-8


def probe_file(path: Path) -> FileProbe:
    """Hash, size, head and UTF-8 validity in one streaming pass over the file."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    head = b""
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if not head:
                head = chunk[:65536]
            size += len(chunk)
            digest.update(chunk)
            # ASCII is UTF-8: only chunks with other bytes (or a character split over chunks) need decoding.
            if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return FileProbe(sha256=digest.hexdigest(), size=size, head=head, utf8=utf8)


def sql_str(value: str) -> str:
    """A SQL string literal (DuckDB table functions do not take bound parameters everywhere)."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
