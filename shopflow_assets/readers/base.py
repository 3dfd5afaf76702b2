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


# Called inside the loader's publish transaction: (con, table, file filter SQL, rows the file staged).
Renumber = Callable[[duckdb.DuckDBPyConnection, str, str, int], None]


@dataclass(frozen=True)
class Prepared:
    """What a reader hands the loader, to run inside the loader's one transaction."""

    rows_sql: str  # SELECT <the spec's columns>, _record_number
    rejects_sql: str  # SELECT record_number, record_key, rule, reason, raw_record; valid after rows_sql ran
    renumber: Renumber | None = None  # sets _record_number once the rows and rejects are in (CSV)
    # The reading to use instead when the file turns out not to be UTF-8 (CSV's Latin-1 reading).
    latin1: Prepared | None = None
    # The same reading in one thread, for when the parallel one does not account for every line
    # of the file (CSV; see load.py).
    sequential: Prepared | None = None


class FileRejected(Exception):
    """The whole file cannot be read; the message is the reason users see."""


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    utf8: bool  # the whole file decodes as UTF-8
    lines: int  # line breaks, plus one for an unterminated last line


@dataclass(frozen=True)
class FileProbe:
    """What is known of a file before it is read. Its sha256 and UTF-8 check take one pass on a
    worker thread while DuckDB reads the file (as UTF-8, the usual case), so they cost a big file
    almost nothing on the load's critical path."""

    size: int
    head: bytes  # the first few KiB, for sniffing
    fingerprint: Future[Fingerprint]

    @property
    def sha256(self) -> str:
        return self.fingerprint.result().sha256

    @property
    def utf8(self) -> bool:
        return self.fingerprint.result().utf8

    @property
    def lines(self) -> int:
        return self.fingerprint.result().lines


def probe_file(path: Path, worker: Executor) -> FileProbe:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
        size = os.fstat(fh.fileno()).st_size
    return FileProbe(size=size, head=head, fingerprint=worker.submit(fingerprint, path))


def fingerprint(path: Path) -> Fingerprint:
    """sha256 and UTF-8 validity in one streaming pass. A file that vanished after it was probed
    gets an empty hash; reading it fails too, and that failure is what the run reports."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, last = True, 0, b"\n"
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)  # releases the GIL
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                # ASCII is UTF-8: only chunks with other bytes (or a character split over chunks) need decoding.
                if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
    except OSError:
        return Fingerprint(sha256="", utf8=False, lines=0)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return Fingerprint(sha256=digest.hexdigest(), utf8=utf8, lines=lines + (last != b"\n"))


def sql_str(value: str) -> str:
    """A SQL string literal (DuckDB table functions do not take bound parameters everywhere)."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
