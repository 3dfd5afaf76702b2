"""replace_window, the one way silver tables are written: created on first use, the window swapped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shopflow_assets.defs.silver.build import replace_window
from shopflow_assets.lib.schema import ensure_schema
from shopflow_assets.lib.transaction import transaction
from shopflow_assets.lib.warehouse import connect

DAY, NEXT = date(2024, 1, 2), date(2024, 1, 3)


def test_a_first_build_larger_than_a_row_group_is_visible_at_once(warehouse: Path) -> None:
    """130,000 rows (more than one DuckDB row group) into a table created in the same
    transaction: the same connection sees them at once, through filters and groups."""
    with connect(warehouse) as con:
        ensure_schema(con)
        con.execute(
            "CREATE TEMP TABLE src AS SELECT 'K' || i AS k, (DATE '2024-01-01' + (i % 3)::INTEGER) AS _partition_date "
            "FROM range(390000) t(i)"
        )
        select = "SELECT k, _partition_date, ? AS _run_id FROM src WHERE _partition_date >= ? AND _partition_date < ?"
        with transaction(con):
            replace_window(con, "big", select, ["r1", DAY, NEXT], DAY, NEXT)
        assert con.execute(
            "SELECT _partition_date, count(*), min(_run_id) FROM silver.big GROUP BY ALL"
        ).fetchall() == [(DAY, 130000, "r1")]
        assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'big' "
                           "ORDER BY ordinal_position").fetchall() == [("VARCHAR",), ("DATE",), ("VARCHAR",)]  # fmt: skip
        # a second build of the window replaces exactly its rows; other days stay
        with transaction(con):
            replace_window(con, "big", select, ["r2", date(2024, 1, 1), NEXT], date(2024, 1, 1), NEXT)
        with transaction(con):
            replace_window(con, "big", select + " AND k LIKE 'K1%'", ["r3", DAY, NEXT], DAY, NEXT)
        assert con.execute(
            "SELECT _partition_date, _run_id, count(*) FROM silver.big GROUP BY ALL ORDER BY 1"
        ).fetchall() == [
            (date(2024, 1, 1), "r2", 130000),
            (
                DAY,
                "r3",
                con.execute(
                    "SELECT count(*) FROM src WHERE _partition_date = ? AND k LIKE 'K1%'", [DAY]
                ).fetchone()[0],
            ),
        ]
