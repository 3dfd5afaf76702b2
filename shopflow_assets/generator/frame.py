"""One file's records, column by column, plus the few edits that defect injection makes.

Small sources (catalog, CRM, accounts, campaigns) hold Python lists of typed values. The big CSV
sources hold Arrow string arrays, which are immutable and millions long, so cell edits are kept as
patches and applied in one vectorised step when the file is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopflow_assets.sources import SourceSpec

STRING = pa.large_string()


@dataclass
class Frame:
    spec: SourceSpec
    columns: dict[str, list[Any] | pa.Array]
    # document-level fields (e.g. the products snapshot_date), written once per file
    document: dict[str, Any] = field(default_factory=dict)
    # column -> row -> value, for Arrow-backed columns
    patches: dict[str, dict[int, Any]] = field(default_factory=dict)
    # row -> the raw field values written instead of the record (a line with the wrong field count)
    line_overrides: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if list(self.columns) != self.spec.column_names:
            raise ValueError(
                f"{self.spec.name}: columns {list(self.columns)} != registry {self.spec.column_names}"
            )
        lengths = {len(values) for values in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"{self.spec.name}: columns of different lengths {sorted(lengths)}")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    @property
    def null(self) -> Any:
        """How a missing value is delivered: an empty CSV field, or a JSON/Parquet null."""
        return "" if self.spec.format == "csv" else None

    def value(self, row: int, column: str) -> Any:
        patched = self.patches.get(column, {})
        if row in patched:
            return patched[row]
        values = self.columns[column]
        if isinstance(values, list):
            return values[row]
        return values[row].as_py()

    def set(self, row: int, column: str, value: Any) -> None:
        values = self.columns[column]
        if isinstance(values, list):
            values[row] = value
        else:
            self.patches.setdefault(column, {})[row] = value

    def row(self, row: int) -> list[Any]:
        return [self.value(row, c) for c in self.columns]

    def key(self, row: int) -> Any:
        """The business key of a record, or None when it is missing."""
        value = self.value(row, self.spec.key)
        return None if value in (None, "") else value

    def column(self, name: str) -> list[Any] | pa.Array:
        """The column with every patch applied."""
        values = self.columns[name]
        patched = self.patches.get(name)
        if isinstance(values, list) or not patched:
            return values
        rows = sorted(patched)
        mask = np.zeros(len(values), dtype=bool)
        mask[rows] = True
        replacements = pa.array([patched[r] for r in rows], type=values.type)
        return pc.replace_with_mask(values, pa.array(mask), replacements)


@dataclass
class Records:
    """The full current state of a master-data source: one list per delivered column, keyed by the
    registry's column names, so cutting a day's new and changed records into a file is the same code
    for every source and a column added to the registry cannot be forgotten by a model."""

    spec: SourceSpec
    columns: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.columns = {name: [] for name in self.spec.column_names}

    def __len__(self) -> int:
        return len(self.columns[self.spec.key])

    def __getitem__(self, column: str) -> list[Any]:
        return self.columns[column]

    def append(self, **values: Any) -> int:
        """Add one record (every registry column, nothing else); returns its index."""
        if set(values) != set(self.columns):
            raise ValueError(
                f"{self.spec.name}: record fields {sorted(values)} != registry {sorted(self.columns)}"
            )
        for name, value in values.items():
            self.columns[name].append(value)
        return len(self) - 1

    def frame(self, rows: Sequence[int], document: dict[str, Any] | None = None) -> Frame:
        """The given records as a file's Frame (copies: defects injected into it stay out of the state)."""
        columns = {name: [values[i] for i in rows] for name, values in self.columns.items()}
        return Frame(self.spec, columns, document or {})
