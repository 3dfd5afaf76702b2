"""Property test: however a valid CSV is damaged, every record it delivers is loaded or quarantined.

Generated orders and inventory files (every delimiter and encoding the generator rotates through)
get random corruptions: stray quotes, cut lines, extra delimiters, NUL bytes, a BOM, CRLF mixed
with LF, a truncated last line, now and then a character in the header. Many damaged files are
loaded per day (one load per source and day), and for each file: rows in bronze + rows quarantined
= the records it delivers, counted here independently of the loader by the contract's rule; or,
only for a damaged header, the whole file is rejected with a printable reason and nothing of it is
published. Every quarantine reason is printable. SHOPFLOW_FUZZ_CASES sets the number of files
(`make fuzz` runs thousands); SHOPFLOW_FUZZ_SEED the seed.
"""

from __future__ import annotations

import os
import random
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from shopflow_assets.defs.bronze.load import load_bronze
from shopflow_assets.lib.warehouse import connect
from shopflow_assets.sources import SOURCES

CASES = int(os.environ.get("SHOPFLOW_FUZZ_CASES", "300"))
SEED = int(os.environ.get("SHOPFLOW_FUZZ_SEED", "20260"))
FILES_PER_LOAD = 40  # one day's files: each load reads one day of each source
START = date(2024, 1, 1)
SOURCES_FUZZED = ("orders", "inventory")
BOM = b"\xef\xbb\xbf"
_BREAK = re.compile(rb"\r\n|\r|\n")


def delivered(data: bytes, delimiter: bytes) -> int:
    """Records after the header, by the contract's rule: one per non-blank line, except that a line
    break inside a properly closed quoted field joins lines; a record whose quoting is broken (never
    closed, or closed and followed by something other than a delimiter) counts each of its lines."""
    lines = _lines(data)[1:]
    count, i = 0, 0
    while i < len(lines):
        if lines[i] == b"":
            i += 1
            continue
        taken = _quoted_record(lines, i, delimiter)
        count += 1 if taken > 0 else -taken
        i += abs(taken)
    return count


def _lines(data: bytes) -> list[bytes]:
    parts = _BREAK.split(data)
    return parts[:-1] if parts and parts[-1] == b"" else parts


def _quoted_record(lines: list[bytes], first: int, delimiter: bytes) -> int:
    """Lines the record starting at `first` spans: positive if well formed, negative if broken."""
    line, pos, i, quoted, field_start = lines[first], 0, first, False, True
    while True:
        if pos >= len(line):
            if not quoted:
                return i - first + 1
            if i + 1 >= len(lines):
                return -(i - first + 1)  # never closed
            i, line, pos = i + 1, lines[i + 1], 0
            continue
        c = line[pos : pos + 1]
        if quoted:
            if c == b'"':
                if line[pos + 1 : pos + 2] == b'"':
                    pos += 2
                    continue
                after = line[pos + 1 : pos + 2]
                if after not in (b"", delimiter):
                    return -(i - first + 1)  # closed, then junk
                quoted = False
            pos += 1
            continue
        if c == b'"' and field_start:
            quoted, field_start = True, False
        else:
            field_start = c == delimiter
        pos += 1


def _insert(data: bytearray, rng: random.Random, start: int, what: bytes) -> None:
    at = rng.randrange(start, len(data) + 1)
    data[at:at] = what


def corrupt(data: bytes, delimiter: bytes, rng: random.Random) -> bytes:
    """One to three random corruptions, after the header line but for a BOM in front and now and
    then a character in the header itself."""
    out = bytearray(data)
    header_end = out.index(b"\n") + 1
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(
            ["quote", "quote", "cut", "split", "delimiter", "nul", "bom", "crlf", "truncate", "header"]
        )
        if len(out) <= header_end + 2:
            break
        if kind == "header":  # the rare damage that may cost the whole file
            at = rng.randrange(header_end - 1)
            out[at:at] = rng.choice([b'"', delimiter, b"\x00", b"\x01"])
            header_end += 1
        if kind == "quote":
            _insert(out, rng, header_end, b'"')
        elif kind == "cut":
            at = rng.randrange(header_end, len(out))
            del out[at : at + rng.randint(1, 200)]
        elif kind == "split":
            _insert(out, rng, header_end, b"\n")
        elif kind == "delimiter":
            _insert(out, rng, header_end, delimiter)
        elif kind == "nul":
            _insert(out, rng, header_end, b"\x00")
        elif kind == "bom" and not out.startswith(BOM):
            out[0:0] = BOM
            header_end += len(BOM)
        elif kind == "crlf":
            breaks = [m.start() for m in re.finditer(rb"(?<!\r)\n", bytes(out[header_end:]))]
            for at in sorted(rng.sample(breaks, k=max(1, len(breaks) // 3)), reverse=True):
                out[header_end + at : header_end + at] = b"\r"
        elif kind == "truncate":
            last = out.rstrip(b"\r\n").rfind(b"\n") + 1
            if last > header_end:
                del out[rng.randrange(last, len(out)) :]
    return bytes(out)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes, bytes]]:
    """Valid generated files: (source, bytes, delimiter), every dialect the generator rotates."""
    from shopflow_assets.generator import generate

    root = tmp_path_factory.mktemp("fuzz_bases")
    manifest = generate(root, START, 6, 60, seed=5, defect_rate=0.05)
    return [
        (f["source"], (root / f["path"]).read_bytes(), f["delimiter"].encode())
        for f in manifest["files"]
        if f["source"] in SOURCES_FUZZED and not f.get("late")
    ]


def _first_line(data: bytes) -> bytes:
    return data.removeprefix(BOM).split(b"\n", 1)[0]


def test_damaged_csv_files_lose_no_record(bases: list, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    expected: dict[str, int] = {}
    damaged_headers: set[str] = set()
    landing, warehouse = tmp_path / "landing", tmp_path / "shopflow.duckdb"
    for case in range(CASES):
        source, data, delimiter = rng.choice(bases)
        day = START + timedelta(days=case // FILES_PER_LOAD)
        rel = f"{source}/{source}_{day.isoformat()}_c{case}.csv"
        damaged = corrupt(data, delimiter, rng)
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_bytes(damaged)
        expected[rel] = delivered(damaged, delimiter)
        if _first_line(damaged) != _first_line(data):
            damaged_headers.add(rel)
    days = (CASES + FILES_PER_LOAD - 1) // FILES_PER_LOAD
    with connect(warehouse) as con:
        for i in range(days):
            first = START + timedelta(days=i)
            for source in SOURCES_FUZZED:
                load_bronze(con, SOURCES[source], landing, first, first + timedelta(days=1), "fuzz")
        counted = _per_file(con)
        (unprintable,) = con.execute(
            r"SELECT count(*) FROM quarantine.rejected_records WHERE regexp_matches(reason, '[\x00-\x1f\x7f]')"
        ).fetchone()
    problems = []
    for rel, want in expected.items():
        loaded, quarantined, reason = counted.get(rel, (0, 0, None))
        if reason is not None:  # only a damaged header may cost the whole file
            if (loaded, quarantined) != (0, 0) or not reason.isprintable() or rel not in damaged_headers:
                problems.append((rel, "rejected", loaded, quarantined, reason))
        elif loaded + quarantined != want:
            problems.append((rel, "does not add up", loaded, quarantined, want))
    assert problems == []
    assert unprintable == 0


def _per_file(con) -> dict[str, tuple[int, int, str | None]]:
    rows = con.execute(
        """WITH files AS (SELECT source_file FROM bronze._files
                          UNION SELECT source_file FROM quarantine.rejected_files),
           b AS (SELECT _source_file AS f, count(*) AS n FROM bronze.orders GROUP BY 1
                 UNION ALL SELECT _source_file, count(*) FROM bronze.inventory GROUP BY 1),
           q AS (SELECT source_file AS f, count(*) AS n FROM quarantine.rejected_records GROUP BY 1)
        SELECT files.source_file, coalesce(b.n, 0), coalesce(q.n, 0), r.reason
        FROM files LEFT JOIN b ON b.f = files.source_file LEFT JOIN q ON q.f = files.source_file
        LEFT JOIN quarantine.rejected_files r ON r.source_file = files.source_file"""
    ).fetchall()
    return {f: (n, q, reason) for f, n, q, reason in rows}


@pytest.mark.parametrize(
    ("content", "records"),
    [
        (b"h\na\nb\n", 2),
        (b"h\na\n\nb\n\r\n", 2),  # blank lines are not records
        (b'h\n"a\nb",c\nd\n', 2),  # a quoted line break joins lines
        (b'h\n"a\nb"x\nd\n', 3),  # a quote closed and followed by junk: each line counts
        (b'h\na,"b\nc\nd\n', 3),  # never closed: each line counts
        (b'h\na"b,c\nd', 2),  # a quote inside an unquoted field is just a character
        (b'h\n"a""b",c\r\nd\re\n', 3),
    ],
)
def test_the_oracle_counts_by_the_contract(content: bytes, records: int) -> None:
    assert delivered(content, b",") == records


def test_fingerprint_line_facts_hold_across_chunk_boundaries(tmp_path: Path, monkeypatch) -> None:
    """The fingerprint's vectorised line facts against a plain byte loop, with tiny chunks so that
    line breaks, "\\r\\n" pairs and quotes straddle chunk boundaries."""
    from shopflow_assets.readers import base

    def plain(data: bytes) -> tuple[int, int, bool]:
        parts = data.split(b"\n")
        inside = broken = False
        for byte in data:
            inside ^= byte == ord('"')
            broken |= inside and byte == ord("\n")
        return len(parts) - (parts[-1] == b""), sum(p in (b"", b"\r") for p in parts[:-1]), broken or inside

    rng = random.Random(SEED)
    path = tmp_path / "f.csv"
    for _ in range(500):
        data = bytes(rng.choice(b'ab\n\r"') for _ in range(rng.randint(0, 40)))
        monkeypatch.setattr(base, "_CHUNK", rng.randint(1, 7))
        path.write_bytes(data)
        facts = base.fingerprint(path)
        assert (facts.lines, facts.blank_lines, facts.quoted_breaks) == plain(data), data
