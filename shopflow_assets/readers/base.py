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
import numpy as np

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
    # The last resort for a CSV whose records DuckDB does not account for (stray quotes, mixed line
    # endings): Python's csv module splits the records, DuckDB types them. Built on demand for the
    # file's encoding (True: UTF-8), and the count of records the file delivers (see csv.py).
    careful: Callable[[bool], Prepared] | None = None
    # The records a CSV delivers by the careful reading's rules, without building that reading.
    count_records: Callable[[bool], int] | None = None
    records: int | None = None  # the records the file delivers, when this reading counted them


class FileRejected(Exception):
    """The whole file cannot be read; the message is the reason users see."""


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    utf8: bool  # the whole file decodes as UTF-8
    lines: int  # line breaks, plus one for an unterminated last line
    blank_lines: int = 0  # lines with nothing on them (or only a carriage return): not records
    # Some line break lies inside quotes (counting every `"`), or the file ends inside them: a quoted
    # field spans lines, or a stray quote swallows them. Without one, a CSV's records are its lines.
    quoted_breaks: bool = False

    @property
    def data_lines(self) -> int:
        """Non-blank lines after the header: a CSV's records when no line break is quoted."""
        return max(self.lines - self.blank_lines - 1, 0)


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

    @property
    def bom(self) -> bool:
        return self.head.startswith(codecs.BOM_UTF8)


def probe_file(path: Path, worker: Executor) -> FileProbe:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
        size = os.fstat(fh.fileno()).st_size
    return FileProbe(size=size, head=head, fingerprint=worker.submit(fingerprint, path))


def fingerprint(path: Path) -> Fingerprint:
    """sha256, UTF-8 validity and the line facts a CSV's record count needs, in one streaming
    pass. A file that vanished after it was probed gets an empty hash; reading it fails too, and
    that failure is what the run reports."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines = True, _Lines()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)  # releases the GIL
                lines.feed(chunk)
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
    return Fingerprint(
        sha256=digest.hexdigest(),
        utf8=utf8,
        lines=lines.count + (lines.since_break > 0),
        blank_lines=lines.blank,
        quoted_breaks=lines.quoted_break or lines.in_quotes,
    )


class _Lines:
    """Line facts over a stream of chunks, vectorised (numpy finds the line breaks of a 4 MiB
    chunk in about a millisecond): line breaks, blank lines (nothing, or only "\r", between two
    breaks) and whether any break falls inside quotes, counting every `"` from the start of the
    file. Escaped quotes ("") keep the parity, so for well-formed CSV that is exactly "a quoted
    field holds a line break"; a stray quote flips it for the rest of the file."""

    def __init__(self) -> None:
        self.count = 0
        self.blank = 0
        self.since_break = 0  # bytes after the last line break so far (the file starts as if after one)
        self.last_byte = 10
        self.in_quotes = False  # at the end of what was fed
        self.quoted_break = False

    def feed(self, chunk: bytes) -> None:
        data = np.frombuffer(chunk, dtype=np.uint8)
        breaks = np.flatnonzero(data == 10)
        self.count += len(breaks)
        if len(breaks):
            gaps = np.diff(breaks, prepend=-self.since_break - 1)
            self.blank += int(np.count_nonzero(gaps == 1))
            between = breaks[gaps == 2] - 1  # one byte between two breaks: blank if it is "\r"
            if len(between):
                middle = np.where(between >= 0, data[np.maximum(between, 0)], self.last_byte)
                self.blank += int(np.count_nonzero(middle == 13))
            self.since_break = len(chunk) - 1 - int(breaks[-1])
        else:
            self.since_break += len(chunk)
        self.last_byte = chunk[-1]
        self._quotes(chunk, data, breaks)

    def _quotes(self, chunk: bytes, data: np.ndarray, breaks: np.ndarray) -> None:
        if b'"' not in chunk:  # memchr: most chunks of most files stop here
            self.quoted_break |= self.in_quotes and len(breaks) > 0
            return
        quotes = np.flatnonzero(data == ord('"'))
        if not self.quoted_break:
            before = np.searchsorted(quotes, breaks) + int(self.in_quotes)  # quotes before each break
            self.quoted_break = bool(np.any(before & 1))
        self.in_quotes ^= len(quotes) % 2 == 1
