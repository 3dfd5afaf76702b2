"""The landing-zone contract: where files live and what their names mean."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shopflow_assets.sources import SOURCES, SourceSpec

# <source>_<YYYY-MM-DD>[_<suffix>].<ext>
_NAME = re.compile(
    r"^(?P<source>[a-z_]+?)_(?P<date>\d{4}-\d{2}-\d{2})(?:_(?P<suffix>[A-Za-z0-9-]+))?(?P<ext>\.[a-z]+)$"
)
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
    """The parsed file, or a readable reason why the name does not match the contract."""
    m = _NAME.match(path.name)
    if not m:
        return f"{path.name}: name does not match <source>_<YYYY-MM-DD>[_<suffix>].<ext>"
    if m["source"] != spec.name:
        return f"{path.name}: expected source {spec.name!r} in the name, found {m['source']!r}"
    if m["ext"] not in spec.extensions:
        return f"{path.name}: extension {m['ext']} is not one of {', '.join(spec.extensions)}"
    try:
        day = date.fromisoformat(m["date"])
    except ValueError:
        return f"{path.name}: {m['date']} is not a valid date"
    return LandingFile(path=path, source=spec.name, partition=day, suffix=m["suffix"])


def scan_source(landing_dir: Path, spec: SourceSpec) -> tuple[list[LandingFile], list[str]]:
    """Every complete file of one source, sorted by name, and the reasons for names skipped."""
    folder = landing_dir / spec.name
    files: list[LandingFile] = []
    skipped: list[str] = []
    if not folder.is_dir():
        return files, skipped
    for path in sorted(folder.iterdir()):
        if not path.is_file() or is_in_progress(path.name):
            continue
        parsed = parse_name(path, spec)
        if isinstance(parsed, str):
            skipped.append(parsed)
        else:
            files.append(parsed)
    return files, skipped


def files_in_window(landing_dir: Path, spec: SourceSpec, start: date, end: date) -> list[LandingFile]:
    """The complete files whose business date lies in the half-open window [start, end)."""
    files, _ = scan_source(landing_dir, spec)
    return [f for f in files if start <= f.partition < end]


__all__ = [
    "SOURCES",
    "LandingFile",
    "file_name",
    "files_in_window",
    "is_in_progress",
    "parse_name",
    "scan_source",
]
