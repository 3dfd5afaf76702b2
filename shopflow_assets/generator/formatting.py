"""Vectorised text formatting for the big CSV sources (a million rows must format in well under a
second per column, so everything here is numpy or Arrow compute, never a per-row Python loop)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopflow_assets.generator.frame import STRING

SECONDS_PER_DAY = 86_400


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, STRING)


def integers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), STRING)


def money(cents: np.ndarray) -> pa.Array:
    """Non-negative cents -> ``'12.50'`` (always two decimals, ``.`` as separator)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = integers(cents // 100)
    fraction = pc.utf8_lpad(integers(cents % 100), width=2, padding="0")
    return pc.binary_join_element_wise(whole, fraction, _text("."))


def codes(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``codes('ORD-20240115-', [1], 7)`` -> ``['ORD-20240115-0000001']``."""
    padded = pc.utf8_lpad(integers(numbers), width=width, padding="0")
    return pc.binary_join_element_wise(_text(prefix), padded, _text(""))


def labels(vocabulary: Sequence[str], index: np.ndarray) -> pa.Array:
    """Index array -> the vocabulary strings (a take, so cheap for any length)."""
    return pc.take(pa.array(list(vocabulary), STRING), pa.array(index))


@cache
def _clock() -> pa.Array:
    """All 86,400 ``HH:MM:SS`` strings of a day; timestamps are a take from this table."""
    seconds = np.arange(SECONDS_PER_DAY)
    parts = [integers(part) for part in (seconds // 3600, seconds // 60 % 60, seconds % 60)]
    padded = [pc.utf8_lpad(part, width=2, padding="0") for part in parts]
    return pc.binary_join_element_wise(*padded, _text(":"))


def timestamps(day: date, seconds: np.ndarray) -> pa.Array:
    """Seconds since midnight -> ``'YYYY-MM-DD HH:MM:SS'`` on the given business day."""
    return pc.binary_join_element_wise(
        _text(day.isoformat()), pc.take(_clock(), pa.array(seconds)), _text(" ")
    )


def round_cents(value: Decimal) -> Decimal:
    """Money rounding used everywhere: half up to two decimals (also what the totals are built with)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def line_total_cents(
    quantity: np.ndarray, unit_cents: np.ndarray, discount_percent: np.ndarray
) -> np.ndarray:
    """round(quantity * unit_price * (1 - discount/100), 2) in exact integer arithmetic, half up."""
    numerator = (
        quantity.astype(np.int64) * unit_cents.astype(np.int64) * (100 - discount_percent.astype(np.int64))
    )
    return (numerator + 50) // 100
