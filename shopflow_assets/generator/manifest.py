"""The manifest: the ground truth about a generated landing zone.

Tests and demos compare what the platform did against it: how many records each file holds, which
record carries which defect and which layer should catch it, which CRM customer and web account are
the same person, and which files arrive late or replace earlier ones. It holds no wall-clock values
and is written with sorted keys, so the same parameters give a byte-identical manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopflow_assets.generator.defects import Defect
from shopflow_assets.generator.params import GenerateParams
from shopflow_assets.generator.people import Identity

MANIFEST_NAME = "_manifest.json"
ORIGINALS_DIR = "_originals"

CONVENTIONS: dict[str, str] = {
    "email_match": "equal after lower-casing",
    "phone_match": "equal after removing every non-digit character",
    "name_match": "first and last name equal after lower-casing; name pairs also share country and city",
    "people": "records of different people never share an e-mail, phone digits or full name, so linking "
    "records on any of them, transitively, gives exactly the identities",
    "total": "round(quantity * unit_price * (1 - discount_percent / 100), 2), half up",
    "record_number": "1-based data record: CSV line after the header, JSON array element, Parquet row",
    "late_files": "arrives_on is the business day on which a late or corrected file would land",
}


@dataclass(frozen=True)
class FileEntry:
    source: str
    path: str  # relative to the output folder, posix
    partition: str
    records: int
    kind: str  # regular | late | corrected
    delimiter: str | None = None
    encoding: str | None = None

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "source": self.source,
            "path": self.path,
            "partition": self.partition,
            "records": self.records,
            "kind": self.kind,
        }
        if self.delimiter is not None:
            entry["delimiter"] = self.delimiter
            entry["encoding"] = self.encoding
        return entry


def defect_entries(source: str, path: str, defects: list[Defect]) -> list[dict[str, Any]]:
    return [
        {
            "source": source,
            "file": path,
            "record_number": d.record_number,
            "record_key": d.record_key,
            "kind": d.kind,
            "layer": d.layer,
            "column": d.column,
        }
        for d in defects
    ]


@dataclass
class Manifest:
    params: GenerateParams
    files: list[FileEntry] = field(default_factory=list)
    defects: list[dict[str, Any]] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    late_files: list[dict[str, Any]] = field(default_factory=list)
    corrected_files: list[dict[str, Any]] = field(default_factory=list)

    def add(self, entry: FileEntry, defects: list[Defect]) -> None:
        self.files.append(entry)
        self.defects += defect_entries(entry.source, entry.path, defects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.as_manifest(),
            "conventions": dict(CONVENTIONS),
            "files": [f.as_dict() for f in sorted(self.files, key=lambda f: f.path)],
            "defects": sorted(self.defects, key=lambda d: (d["file"], d["record_number"])),
            "identities": [
                {"crm_id": i.crm_id, "account_id": i.account_id, "match": i.match}
                for i in sorted(self.identities, key=lambda i: (i.crm_id, i.account_id))
            ],
            "late_files": sorted(self.late_files, key=lambda f: f["path"]),
            "corrected_files": sorted(self.corrected_files, key=lambda f: f["path"]),
        }

    def write(self, out: Path) -> dict[str, Any]:
        document = self.as_dict()
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
        return json.loads(text)
