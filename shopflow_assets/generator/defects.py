"""Defect injection: which kinds of dirt each source gets, and how each kind is written.

A defect replaces one record in place (record counts stay as generated), every defective record has
exactly one defect, and the key field stays readable unless the defect *is* the missing key, so
quarantine can always name the record. Variants of a kind (which column, which bad value) cycle in
file order, so even a small file shows several of them. The first unparseable number of a file is
always non-ASCII (``£12,50``, ``1½``), so a reader that guesses the encoding wrong trips over it, and
a money value with a decimal comma needs CSV quoting in comma-separated files.

A defect never links people: an invalid e-mail can be traced back to exactly one valid address (and
matches no valid one), so two different people's addresses never become equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.formatting import round_cents
from shopflow_assets.generator.frame import Frame
from shopflow_assets.sources import SOURCES

Layer = Literal["bronze", "silver"]

# Bronze catches what cannot be read or typed; silver catches readable records that break a rule.
LAYERS: dict[str, Layer] = {
    "wrong_column_count": "bronze",
    "unparseable_number": "bronze",
    "impossible_date": "bronze",
    "null_key": "silver",
    "non_positive_quantity": "silver",
    "unknown_status": "silver",
    "total_mismatch": "silver",
    "duplicate_order_id": "silver",
    "retail_below_cost": "silver",
    "invalid_email": "silver",
    "wrong_sign": "silver",
}

# A file gets at least one defect of every kind once it has this many records per kind.
ENOUGH_RECORDS_PER_KIND = 10


def _signed_movement(frame: Frame, row: int) -> bool:
    """A movement whose type fixes the sign of its quantity (every type but an adjustment)."""
    return ref.UPDATE_SIGNS.get(frame.value(row, "update_type"), 0) != 0


@dataclass(frozen=True)
class Target:
    """A defect kind a source can carry, the columns it may hit (cycled in file order), and which
    records it applies to (all, unless ``applies`` says otherwise)."""

    kind: str
    columns: tuple[str, ...] = ()
    applies: Callable[[Frame, int], bool] | None = None

    def fits(self, frame: Frame, row: int) -> bool:
        return self.applies is None or self.applies(frame, row)


TARGETS: dict[str, tuple[Target, ...]] = {
    "orders": (
        Target("wrong_column_count"),
        Target("unparseable_number", ("unit_price", "quantity", "total")),
        Target("impossible_date", ("order_timestamp",)),
        Target("null_key", ("order_id", "customer_id", "product_id")),
        Target("non_positive_quantity", ("quantity",)),
        Target("unknown_status", ("status",)),
        Target("total_mismatch", ("total",)),
        Target("duplicate_order_id", ("order_id",)),
    ),
    "inventory": (
        Target("wrong_column_count"),
        Target("unparseable_number", ("quantity_change",)),
        Target("impossible_date", ("update_timestamp",)),
        Target("null_key", ("update_id", "product_id", "store_id")),
        Target("unknown_status", ("update_type",)),
        Target("wrong_sign", ("quantity_change",), applies=_signed_movement),
    ),
    "products": (
        Target("unparseable_number", ("cost_price",)),
        Target("impossible_date", ("last_updated",)),
        Target("null_key", ("product_id",)),
        Target("retail_below_cost", ("cost_price",)),
    ),
    "customers": (
        Target("impossible_date", ("registration_date",)),
        Target("null_key", ("customer_id",)),
        Target("invalid_email", ("email",)),
    ),
    "accounts": (
        Target("unparseable_number", ("orders_count",)),
        Target("impossible_date", ("registered",)),
        Target("null_key", ("id",)),
        Target("invalid_email", ("contact_email",)),
    ),
    "campaigns": (
        Target("unparseable_number", ("budget",)),
        Target("impossible_date", ("start_date", "end_date")),
        Target("null_key", ("campaign_id",)),
    ),
}


@dataclass(frozen=True)
class Defect:
    record_number: int  # 1-based data record
    record_key: Any
    kind: str
    column: str | None

    @property
    def layer(self) -> Layer:
        return LAYERS[self.kind]


@dataclass
class _Context:
    frame: Frame
    rng: np.random.Generator
    defective: set[int]


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _money_text(value: Decimal) -> str:
    return f"{round_cents(value):.2f}"


def _unparseable_number(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    value = _decimal(ctx.frame.value(row, column))
    integer = next(c for c in ctx.frame.spec.columns if c.name == column).type in ("INTEGER", "BIGINT")
    if integer:
        variants = [f"{int(value)}½", "abc", f"{int(value)} pcs", "two"]
    else:
        whole, cents = _money_text(value).split(".")
        variants = [
            f"£{whole},{cents}",
            f"{whole}.{cents}x",
            "n/a",
            f"£{whole}.{cents}",
            f"{whole},{cents}",
            "lots",
        ]
    ctx.frame.set(row, column, variants[ordinal % len(variants)])


def _impossible_date(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    value = str(ctx.frame.value(row, column))
    year, month, day, rest = value[:4], value[5:7], value[8:10], value[10:]
    variants = [f"{year}-{month}-32", f"{year}-13-{day}", f"{year}-02-30", f"{year}-04-31"]
    ctx.frame.set(row, column, variants[ordinal % len(variants)] + rest)


def _null_key(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    ctx.frame.set(row, column, ctx.frame.null)


def _non_positive_quantity(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    """Zero or negative, with a total that still matches, so the record breaks one rule only."""
    frame = ctx.frame
    quantity = (0, -1, -2)[ordinal % 3]
    frame.set(row, column, str(quantity))
    price, discount = _decimal(frame.value(row, "unit_price")), _decimal(frame.value(row, "discount_percent"))
    frame.set(row, "total", _money_text(quantity * price * (100 - discount) / 100))


def _unknown_status(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    ctx.frame.set(row, column, ("shipped_maybe", "UNKNOWN", "on_hold?", "tbd")[ordinal % 4])


def _total_mismatch(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    total = _decimal(ctx.frame.value(row, column))
    delta = Decimal(int(ctx.rng.integers(1, 5000))) / 100
    ctx.frame.set(row, column, _money_text(total - delta if total > delta else total + delta))


def _duplicate_order_id(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    """The record becomes an exact copy of an earlier, clean record of the same file."""
    source = int(ctx.rng.integers(0, row))
    while source in ctx.defective:
        source = (source + 1) % row
    for name in ctx.frame.columns:
        ctx.frame.set(row, name, ctx.frame.value(source, name))


def _retail_below_cost(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    retail = _decimal(ctx.frame.value(row, "retail_price"))
    factor = Decimal(int(ctx.rng.integers(105, 160))) / 100
    ctx.frame.set(row, column, float(round_cents(retail * factor)))


def _invalid_email(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    """Each variant can be undone (local parts hold no ``@``, space or ``(``; domains no ``,``) and
    the variants exclude each other, so different addresses never become the same invalid one."""
    email = str(ctx.frame.value(row, column))
    local, domain = email.split("@", 1)
    variants = [
        f"{local}@@{domain}",
        f"{local}(at){domain}",
        f"{local}@{domain.replace('.', ',')}",
        f"{local} x@{domain}",
    ]
    ctx.frame.set(row, column, variants[ordinal % len(variants)])


def _wrong_sign(ctx: _Context, row: int, column: str, ordinal: int) -> None:
    """The quantity's sign contradicts the movement type (a restock that removes stock, a sale that
    adds it); the size stays, so it is never zero."""
    sign = ref.UPDATE_SIGNS[ctx.frame.value(row, "update_type")]
    quantity = abs(int(ctx.frame.value(row, column)))
    ctx.frame.set(row, column, str(-sign * quantity))


def _wrong_column_count(ctx: _Context, row: int, column: str | None, ordinal: int) -> None:
    """A field lost or a field written twice (never the first, which holds the key)."""
    fields = [str(v) for v in ctx.frame.row(row)]
    position = int(ctx.rng.integers(1, len(fields)))
    if ordinal % 2 == 0:
        del fields[position]
    else:
        fields.insert(position, fields[position])
    ctx.frame.line_overrides[row] = fields


_MUTATORS: dict[str, Callable[[_Context, int, Any, int], None]] = {
    "wrong_column_count": _wrong_column_count,
    "unparseable_number": _unparseable_number,
    "impossible_date": _impossible_date,
    "null_key": _null_key,
    "non_positive_quantity": _non_positive_quantity,
    "unknown_status": _unknown_status,
    "total_mismatch": _total_mismatch,
    "duplicate_order_id": _duplicate_order_id,
    "retail_below_cost": _retail_below_cost,
    "invalid_email": _invalid_email,
    "wrong_sign": _wrong_sign,
}


def defect_count(records: int, kinds: int, rate: float, rng: np.random.Generator) -> int:
    """rate x records, rounded up or down at random so that small files still average the rate;
    at least one per kind once the file is big enough; none at rate 0."""
    if rate <= 0 or records == 0:
        return 0
    expected = rate * records
    count = int(expected) + int(rng.random() < expected - int(expected))
    if records >= ENOUGH_RECORDS_PER_KIND * kinds:
        count = max(count, kinds)
    return count


def inject(
    frame: Frame, rate: float, rng: np.random.Generator, protected: np.ndarray | None = None
) -> list[Defect]:
    """Corrupt about ``rate`` of the frame's records in place; returns what was done, in file order.

    ``protected`` rows are never touched (the CRM/web-shop records of the true identity pairs, whose
    e-mails and phones must stay matchable). The first record is never touched either, so a
    duplicate always has an earlier record to copy.
    """
    targets = TARGETS[frame.spec.name]
    eligible = np.arange(1, len(frame))
    if protected is not None:
        eligible = eligible[~protected[1:]]
    count = min(defect_count(len(frame), len(targets), rate, rng), len(eligible))
    if count == 0:
        return []
    rows = np.sort(rng.choice(eligible, size=count, replace=False))
    if count >= len(targets):
        kinds = np.concatenate([np.arange(len(targets)), rng.integers(0, len(targets), count - len(targets))])
    else:
        kinds = rng.choice(len(targets), size=count, replace=False)
    kinds = _fit(frame, targets, rows.tolist(), rng.permutation(kinds).tolist())
    ctx = _Context(frame, rng, {int(r) for r in rows})
    ordinals = [0] * len(targets)
    defects = []
    for row, k in zip(rows.tolist(), kinds, strict=True):
        target, ordinal = targets[k], ordinals[k]
        ordinals[k] += 1
        column = target.columns[ordinal % len(target.columns)] if target.columns else None
        _MUTATORS[target.kind](ctx, row, column, ordinal)
        defects.append(Defect(row + 1, frame.key(row), target.kind, column))
    return defects


def _fit(frame: Frame, targets: tuple[Target, ...], rows: list[int], kinds: list[int]) -> list[int]:
    """Move each kind that does not apply to its record (a wrong sign on an adjustment) to one where
    it does, by swapping with another record's kind; without a partner, use a kind that applies."""
    for i, row in enumerate(rows):
        if targets[kinds[i]].fits(frame, row):
            continue
        for j, other in enumerate(rows):
            if targets[kinds[i]].fits(frame, other) and targets[kinds[j]].fits(frame, row):
                kinds[i], kinds[j] = kinds[j], kinds[i]
                break
        else:
            kinds[i] = next(k for k, target in enumerate(targets) if target.fits(frame, row))
    return kinds


def check_targets() -> None:
    """Every targeted column exists in the registry (called by the tests, cheap enough for import)."""
    for source, targets in TARGETS.items():
        names = set(SOURCES[source].column_names)
        for target in targets:
            missing = set(target.columns) - names
            if missing or target.kind not in LAYERS:
                raise ValueError(f"{source}: bad defect target {target} (unknown columns {sorted(missing)})")


check_targets()
