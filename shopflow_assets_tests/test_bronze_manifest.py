"""Bronze against the generator's manifest: every record of every file accounted for, exactly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shopflow_assets.lib.warehouse import connect

BRONZE_RULE = {
    "wrong_column_count": "wrong_column_count",
    "unparseable_number": "type_cast",
    "impossible_date": "type_cast",
}


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_record_of_every_file_is_in_bronze_or_quarantine(generated) -> None:
    _, warehouse, manifest = generated
    loaded = Counter()
    for source in {f["source"] for f in manifest["files"]}:
        loaded.update(
            dict(_rows(warehouse, f"SELECT _source_file, count(*) FROM bronze.{source} GROUP BY 1"))
        )
    quarantined = dict(
        _rows(
            warehouse,
            "SELECT source_file, count(*) FROM quarantine.rejected_records WHERE layer = 'bronze' GROUP BY 1",
        )
    )
    assert _rows(warehouse, "SELECT count(*) FROM quarantine.rejected_files") == [(0,)]
    for f in manifest["files"]:
        assert loaded[f["path"]] + quarantined.get(f["path"], 0) == f["records"], f["path"]
    assert set(loaded) | set(quarantined) == {f["path"] for f in manifest["files"]}


def test_bronze_defects_are_quarantined_exactly_with_their_rule(generated) -> None:
    _, warehouse, manifest = generated
    expected = {
        (d["file"], d["record_number"]): (d["record_key"], BRONZE_RULE[d["kind"]])
        for d in manifest["defects"]
        if d["layer"] == "bronze"
    }
    assert {d["kind"] for d in manifest["defects"] if d["layer"] == "bronze"} == set(BRONZE_RULE)
    actual = {
        (file, number): (key, rule)
        for file, number, key, rule in _rows(
            warehouse,
            "SELECT source_file, record_number, record_key, rule FROM quarantine.rejected_records WHERE layer = 'bronze'",
        )
    }
    assert actual == expected


def test_silver_defects_stay_in_bronze_at_their_record_number(generated) -> None:
    _, warehouse, manifest = generated
    silver_defects = [d for d in manifest["defects"] if d["layer"] == "silver"]
    assert {d["kind"] for d in silver_defects} >= {
        "null_key",
        "unknown_status",
        "total_mismatch",
        "invalid_email",
    }
    present = set()
    for source in {d["source"] for d in silver_defects}:
        present |= set(_rows(warehouse, f"SELECT _source_file, _record_number FROM bronze.{source}"))
    assert {(d["file"], d["record_number"]) for d in silver_defects} <= present


def test_late_and_corrected_files_load_into_their_own_partition(generated) -> None:
    _, warehouse, manifest = generated
    assert manifest["late_files"] and manifest["corrected_files"]
    for late in manifest["late_files"]:
        (days,) = _rows(
            warehouse,
            f"SELECT list(DISTINCT _partition_date::VARCHAR) FROM bronze.{late['source']} "
            f"WHERE _source_file = '{late['path']}'",
        )
        assert days == ([late["partition"]],)
    for corrected in manifest["corrected_files"]:
        (sha,) = _rows(
            warehouse,
            f"SELECT DISTINCT _file_sha256 FROM bronze.orders WHERE _source_file = '{corrected['path']}'",
        )
        assert sha == (corrected["corrected_sha256"],)
