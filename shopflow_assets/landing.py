"""The landing-zone contract: where files live and what their names mean."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shopflow_assets.sources import SOURCES, SourceSpec

# <source>_<YYYY-MM-DD>[_<suffix>].<ext>; the suffix may hold any letters or digits (Unicode too) and '-'
_NAME = re.compile(
    r"^(?P<source>[a-z_]+?)_(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:_(?P<suffix>(?:[^\W_]|-)+))?(?P<ext>\.[a-z]+)$"
)
_CLAIMED_DAY = re.compile(r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])")
CONTRACT = "<source>_<YYYY-MM-DD>[_<suffix>].<ext>"
_IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    source: str
    partition: date
    suffix: str | None

    @property
    def partition_key(self) -> str:
        return self.partition.isoformat()


def file_name(source: str, day: date, ext: str, suffix: str | None = None) -> str:
    return f"{source}_{day.isoformat()}{'_' + suffix if suffix else ''}{ext}"


def is_in_progress(name: str) -> bool:
    """Names that a writer is still producing: hidden, underscore-prefixed or temp suffixes."""
    return name.startswith((".", "_")) or name.endswith(_IN_PROGRESS_SUFFIXES)


def parse_name(path: Path, spec: SourceSpec) -> LandingFile | str:
    """The parsed file, or a readable reason why the name does not match the contract (the name,
    what is wrong, what the contract expects)."""
    name = printable(path.name)
    expected = f"expected {spec.name}_<YYYY-MM-DD>[_<suffix>]{'|'.join(spec.extensions)}"
    m = _NAME.match(unicodedata.normalize("NFC", path.name))  # "ö" may arrive as "o" + a combining mark
    if not m:
        return f"{name}: name does not match {CONTRACT} ({expected})"
    if m["source"] != spec.name:
        return f"{name}: expected source {spec.name!r} in the name, found {m['source']!r} ({expected})"
    if m["ext"] not in spec.extensions:
        return f"{name}: extension {m['ext']} is not one of {', '.join(spec.extensions)} ({expected})"
    try:
        day = date.fromisoformat(m["date"])
    except ValueError:
        return f"{name}: {m['date']} is not a valid date ({expected}, a real day)"
    return LandingFile(path=path, source=spec.name, partition=day, suffix=m["suffix"])


@dataclass(frozen=True)
class RefusedFile:
    """A file in a source folder that is not read: its name breaks the contract, or it resolves
    to a place outside the landing root (a symlink, or a symlinked folder)."""

    path: Path
    reason: str
    claimed: date | None  # the real day its name claims, if any: the partition it is recorded under


def claimed_day(name: str) -> date | None:
    """The first real YYYY-MM-DD in a name (orders_2024-13-01.csv claims none)."""
    for m in _CLAIMED_DAY.finditer(name):
        try:
            return date.fromisoformat(m[0])
        except ValueError:
            continue
    return None


def scan(landing_dir: Path, spec: SourceSpec) -> tuple[list[LandingFile], list[RefusedFile]]:
    """Every complete file of one source inside the landing root, sorted by name, and every other
    complete file in its folder with the reason it is refused. Nothing is opened: paths are only
    resolved (symlinks followed) and stat'ed, so a link that points outside the root is never read."""
    folder = landing_dir / spec.name
    files: list[LandingFile] = []
    refused: list[RefusedFile] = []
    if not folder.is_dir():
        return files, refused
    root = Path(os.path.realpath(landing_dir))
    for path in sorted(folder.iterdir()):
        if is_in_progress(path.name):
            continue
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(root):
            if path.is_file() or path.is_symlink():
                reason = f"{printable(path.name)}: resolves to {printable(str(real))}, outside the landing folder; not read"
                refused.append(RefusedFile(path, reason, claimed_day(path.name)))
            continue
        if not real.is_file():
            if not real.is_dir():  # a FIFO, a device, a dangling link: opening it could block or fail
                kind = "a dangling link" if not real.exists() else "not a regular file"
                reason = f"{printable(path.name)}: {kind}; not read"
                refused.append(RefusedFile(path, reason, claimed_day(path.name)))
            continue
        parsed = parse_name(path, spec)
        if isinstance(parsed, str):
            refused.append(RefusedFile(path, parsed, claimed_day(path.name)))
        else:
            files.append(parsed)
    return files, refused


def scan_source(landing_dir: Path, spec: SourceSpec) -> tuple[list[LandingFile], list[str]]:
    """Every complete file of one source, sorted by name, and the reasons for files skipped."""
    files, refused = scan(landing_dir, spec)
    return files, [r.reason for r in refused]


def files_in_window(landing_dir: Path, spec: SourceSpec, start: date, end: date) -> list[LandingFile]:
    """The complete files whose business date lies in the half-open window [start, end)."""
    return window(landing_dir, spec, start, end)[0]


def window(
    landing_dir: Path, spec: SourceSpec, start: date, end: date
) -> tuple[list[LandingFile], list[RefusedFile]]:
    """The files a load of [start, end) reads, and the refused files it accounts for: those whose
    name claims a day in the window, and those that claim no day at all (every load records them)."""
    files, refused = scan(landing_dir, spec)
    return (
        [f for f in files if start <= f.partition < end],
        [r for r in refused if r.claimed is None or start <= r.claimed < end],
    )


def printable(text: str) -> str:
    """Text with every character that is not printable (control bytes, a BOM) escaped, so that
    reasons read cleanly in the UI, logs and `shopflow summary`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


__all__ = [
    "SOURCES",
    "LandingFile",
    "RefusedFile",
    "claimed_day",
    "file_name",
    "files_in_window",
    "is_in_progress",
    "parse_name",
    "printable",
    "scan",
    "scan_source",
    "window",
]
