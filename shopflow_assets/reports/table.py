"""Aligned plain-text tables, shared by `shopflow summary` and `shopflow quality-report`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def grid(header: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "") -> str:
    """Columns left-aligned for text, right-aligned when every value is a number (or a signed/percent
    figure); None prints as empty."""
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in r] for r in rows]
    numeric = [
        all(isinstance(r[i], int | float | Decimal) or _figure(r[i]) for r in rows if r[i] is not None)
        for i in range(len(header))
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return (
            indent
            + "  ".join(
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


def _figure(value: object) -> bool:
    return isinstance(value, str) and (value.endswith(("%", " pp")) or value == "n/a")
