"""What every reader shares: the file probe, the staging contract, and the file-level error."""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

import duckdb

_CHUNK = 1 << 22
_HEAD = 1 << 16


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
    # A second reading that replaces this one when `fallback_if` (a count, valid after rows_sql ran)
    # is not zero: CSV is read as UTF-8, and again as Latin-1 if DuckDB met bytes that are not UTF-8.
    fallback: Prepared | None = None
    fallback_if: str | None = None


class FileRejected(Exception):
    """The whole file cannot be read; the message is the reason users see."""


@dataclass(frozen=True)
class FileProbe:
    """What is known of a file before it is read. Its sha256 is computed on a worker thread while
    DuckDB reads the file, so hashing costs a big file no time on the load's critical path."""

    size: int
    head: bytes  # the first few KiB, for sniffing
    digest: Future[str]

    @property
    def sha256(self) -> str:
        return self.digest.result()


def probe_file(path: Path, hasher: Executor) -> FileProbe:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
        size = os.fstat(fh.fileno()).st_size
    return FileProbe(size=size, head=head, digest=hasher.submit(file_sha256, path))


def file_sha256(path: Path) -> str:
    """The file's sha256, or "" if it vanished after it was probed (its read then fails too)."""
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return ""


def is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8, in one streaming pass."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                # ASCII is UTF-8: only chunks with other bytes (or a character split over chunks) need decoding.
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sql_str(value: str) -> str:
    """A SQL string literal (DuckDB table functions do not take bound parameters everywhere)."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
