"""The bench's own plumbing: landing data cached by its parameters, and the spread it reports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from shopflow_assets import bench


def test_cached_landing_generates_once_per_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "WORK", tmp_path)
    # an interrupted generation and a folder without its manifest are not taken for finished ones
    (tmp_path / "landing_2024-01-01_2d_30o_seed42_defects0.02.partial" / "orders").mkdir(parents=True)
    (tmp_path / "landing_2024-01-01_2d_30o_seed42_defects0.02" / "orders").mkdir(parents=True)

    first = bench.cached_landing(date(2024, 1, 1), 2, 30)
    manifest = first / "_manifest.json"
    assert first == tmp_path / "landing_2024-01-01_2d_30o_seed42_defects0.02"
    assert json.loads(manifest.read_text())["params"] == {
        "days": 2, "defect_rate": 0.02, "late_files": False, "orders_per_day": 30, "seed": 42, "start": "2024-01-01",
    }  # fmt: skip
    csv_path, entry = bench.orders_csv(first, date(2024, 1, 2))
    assert csv_path == first / "orders" / "orders_2024-01-02.csv" and entry["records"] == 30
    written = manifest.stat().st_mtime_ns

    assert bench.cached_landing(date(2024, 1, 1), 2, 30) == first  # reused, not written again
    assert manifest.stat().st_mtime_ns == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing_2024-01-01_2d_30o_seed42_defects0.02"]


def test_spread_is_median_and_interquartile_range() -> None:
    assert bench.spread([2.0, 5.0, 1.0, 4.0, 3.0]) == "median 3.00, IQR 2.00-4.00"
    assert bench.spread([1.0, 2.0]) == "median 1.50, IQR 1.25-1.75"
    assert bench.spread([7.0]) == "median 7.00"
