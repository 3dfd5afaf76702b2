import os
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


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_unicode_in_an_otherwise_valid_name_is_allowed(form: str) -> None:
    import unicodedata

    name = unicodedata.normalize(form, "orders_2024-01-15_Köln-Süd.csv")
    parsed = parse_name(Path(name), SOURCES["orders"])
    assert parsed == LandingFile(
        path=Path(name),
        source="orders",
        partition=date(2024, 1, 15),
        suffix="Köln-Süd",
    )


BAD_NAMES = {  # name -> (partition it is recorded under, reason)
    "orders_2024-01-15 copy.csv": (
        "2024-01-15",
        "orders_2024-01-15 copy.csv: name does not match <source>_<YYYY-MM-DD>[_<suffix>].<ext> "
        "(expected orders_<YYYY-MM-DD>[_<suffix>].csv)",
    ),
    "orders_2024-02-30.csv": (
        None,
        "orders_2024-02-30.csv: 2024-02-30 is not a valid date (expected orders_<YYYY-MM-DD>[_<suffix>].csv, a real day)",
    ),
    "orders_2024-13-01.csv": (
        None,
        "orders_2024-13-01.csv: 2024-13-01 is not a valid date (expected orders_<YYYY-MM-DD>[_<suffix>].csv, a real day)",
    ),
    "orders.csv": (
        None,
        "orders.csv: name does not match <source>_<YYYY-MM-DD>[_<suffix>].<ext> "
        "(expected orders_<YYYY-MM-DD>[_<suffix>].csv)",
    ),
}


def test_badly_named_files_are_rejected_files_of_the_day_they_claim_or_of_every_load(
    landing: Path, load, query
) -> None:
    """A name that breaks the contract was skipped silently by loads; now each load that would
    have read it records it: under the day its name claims, or (no real day) with no partition,
    replaced by every load of the source so reloading stays idempotent."""
    from shopflow_assets_tests.conftest import order_line, write_csv

    write_csv(landing / "orders" / "orders_2024-01-15.csv", [order_line("O1")])
    write_csv(landing / "orders" / "orders_2024-01-16.csv", [order_line("O2", day="2024-01-16")])
    for name in BAD_NAMES:
        write_csv(landing / "orders" / name, [order_line("X1")])
    everything = "SELECT partition_date::VARCHAR, source_file, file_sha256, reason FROM quarantine.rejected_files ORDER BY 2"
    expected = sorted(
        ((day, f"orders/{name}", "", reason) for name, (day, reason) in BAD_NAMES.items()), key=lambda r: r[1]
    )
    for run in ("first", "again"):
        result = load("orders", "2024-01-15", run_id=run)
        assert (result.rows_loaded, len(result.files_rejected)) == (1, 4)
        assert query(everything) == expected
    load("orders", "2024-01-16")  # another day: the undated ones are replaced, the dated one stays
    assert query(everything) == expected
    assert query("SELECT run_id, count(*) FROM quarantine.rejected_files GROUP BY 1 ORDER BY 1") == [
        ("again", 1),
        ("test-run", 3),
    ]
    assert query(
        "SELECT count(*) FROM meta.ingestion_log WHERE status = 'rejected' AND run_id = 'test-run'"
    ) == [(3,)]


def test_a_symlink_out_of_the_landing_folder_is_rejected_and_never_read(
    landing: Path, tmp_path: Path, load, query
) -> None:
    from shopflow_assets_tests.conftest import order_line, write_csv

    outside = write_csv(tmp_path / "elsewhere" / "secret.csv", [order_line("SECRET")])
    inside = write_csv(landing / "archive" / "kept.csv", [order_line("KEPT")])
    (landing / "orders").mkdir()
    (landing / "orders" / "orders_2024-01-15.csv").symlink_to(outside)
    (landing / "orders" / "orders_2024-01-15_linked.csv").symlink_to(inside)  # inside the root: fine
    write_csv(tmp_path / "elsewhere" / "inventory" / "inventory_2024-01-15.csv", [["I1"]])
    (landing / "inventory").symlink_to(tmp_path / "elsewhere" / "inventory")  # a linked source folder

    os.mkfifo(landing / "orders" / "orders_2024-01-15_pipe.csv")  # opening it would block the load
    (landing / "orders" / "orders_2024-01-15_gone.csv").symlink_to(landing / "archive" / "gone.csv")

    files, skipped = scan_source(landing, SOURCES["orders"])  # what the sensors see: never the link out
    assert [f.path.name for f in files] == ["orders_2024-01-15_linked.csv"]
    assert skipped == [
        f"orders_2024-01-15.csv: resolves to {outside.resolve()}, outside the landing folder; not read",
        "orders_2024-01-15_gone.csv: a dangling link; not read",
        "orders_2024-01-15_pipe.csv: not a regular file; not read",
    ]

    result = load("orders", "2024-01-15")
    assert [(f.path, f.status, f.rows_loaded) for f in result.files] == [
        ("orders/orders_2024-01-15_linked.csv", "loaded", 1),
        ("orders/orders_2024-01-15.csv", "rejected", 0),
        ("orders/orders_2024-01-15_gone.csv", "rejected", 0),
        ("orders/orders_2024-01-15_pipe.csv", "rejected", 0),
    ]
    assert query("SELECT order_id FROM bronze.orders") == [("KEPT",)]
    load("inventory", "2024-01-15")
    real = (tmp_path / "elsewhere" / "inventory" / "inventory_2024-01-15.csv").resolve()
    assert query(
        "SELECT source, partition_date::VARCHAR, source_file, file_sha256, bytes, reason "
        "FROM quarantine.rejected_files WHERE reason LIKE '%outside%' ORDER BY 1"
    ) == [
        ("inventory", "2024-01-15", "inventory/inventory_2024-01-15.csv", "", 0,
         f"inventory_2024-01-15.csv: resolves to {real}, outside the landing folder; not read"),
        ("orders", "2024-01-15", "orders/orders_2024-01-15.csv", "", 0,
         f"orders_2024-01-15.csv: resolves to {outside.resolve()}, outside the landing folder; not read"),
    ]  # fmt: skip


def test_a_refused_file_fails_the_files_readable_check_of_the_run(landing: Path, warehouse: Path) -> None:
    """Through Dagster: a name claiming no real day fails the check of every day the run loads."""
    from shopflow_assets_tests.conftest import materialize, order_line, write_csv

    write_csv(landing / "orders" / "orders_2024-01-15.csv", [order_line("O1")])
    write_csv(landing / "orders" / "orders_2024-13-01.csv", [order_line("X1")])
    result = materialize("bronze/orders", landing, warehouse, "2024-01-15")
    ((passed, description, metadata),) = [
        (e.passed, e.description, e.metadata["rejected_files"].data)
        for e in result.get_asset_check_evaluations()
        if e.check_name == "files_readable"
    ]
    assert (passed, description) == (False, "1 of 2 files could not be read")
    assert metadata == [
        {
            "path": "orders/orders_2024-13-01.csv",
            "reason": "orders_2024-13-01.csv: 2024-13-01 is not a valid date "
            "(expected orders_<YYYY-MM-DD>[_<suffix>].csv, a real day)",
        }
    ]
