from datetime import date
from pathlib import Path

import pytest

from shopflow_assets.landing import LandingFile, file_name, is_in_progress, parse_name, scan_source
from shopflow_assets.sources import SOURCES


@pytest.mark.parametrize(
    ("name", "day", "suffix"),
    [
        ("orders_2024-01-15.csv", date(2024, 1, 15), None),
        ("orders_2024-01-03_late.csv", date(2024, 1, 3), "late"),
        ("orders_2024-01-03_store-ST004.csv", date(2024, 1, 3), "store-ST004"),
    ],
)
def test_contract_names_parse(name: str, day: date, suffix: str | None) -> None:
    parsed = parse_name(Path(name), SOURCES["orders"])
    assert parsed == LandingFile(path=Path(name), source="orders", partition=day, suffix=suffix)
    assert file_name("orders", day, ".csv", suffix) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("orders_2024-01-32.csv", "2024-01-32 is not a valid date"),
        ("orders-2024-01-15.csv", "name does not match"),
        ("orders_2024-01-15.json", "extension .json is not one of .csv"),
        ("inventory_2024-01-15.csv", "expected source 'orders'"),
    ],
)
def test_bad_names_give_a_reason(name: str, reason: str) -> None:
    parsed = parse_name(Path(name), SOURCES["orders"])
    assert isinstance(parsed, str) and reason in parsed


@pytest.mark.parametrize(
    "name", [".orders_2024-01-15.csv", "_orders_2024-01-15.csv", "a.csv.tmp", "a.part", "a.partial"]
)
def test_files_being_written_are_in_progress(name: str) -> None:
    assert is_in_progress(name)


def test_scan_ignores_in_progress_and_reports_bad_names(landing: Path) -> None:
    folder = landing / "orders"
    folder.mkdir()
    for name in [
        "orders_2024-01-15.csv",
        "orders_2024-01-15_late.csv",
        "orders_2024-01-16.csv.tmp",
        "notes.txt",
    ]:
        (folder / name).write_text("x")
    files, skipped = scan_source(landing, SOURCES["orders"])
    assert [f.path.name for f in files] == ["orders_2024-01-15.csv", "orders_2024-01-15_late.csv"]
    assert len(skipped) == 1 and skipped[0].startswith("notes.txt")
