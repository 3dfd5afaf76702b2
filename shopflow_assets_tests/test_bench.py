"""The bench's own plumbing: landing data cached by its parameters, the spread it reports, and the gold
bench's ratios, run timings and report."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from shopflow_assets import bench, bench_gold
from shopflow_assets_tests.conftest import init_dagster_home


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


# ---- the gold bench: its maths, what it reads from a run, its report ----

CLI_OUTPUT = """\
2026-12-02 08:52:05 +0000 - dagster - DEBUG - __ASSET_JOB - cca61af0-271c-4a61-b528-de921ff566fb - 1429 - gold_reference - STEP_START - Started execution of step "gold_reference".
Running with dbt=1.11.16
Finished running 1 seed, 4 table models, 27 data tests, 6 view models in 0 hours 0 minutes and 4.86 seconds (4.86s).
2026-12-02 08:52:38 +0000 - dagster - DEBUG - __ASSET_JOB - cca61af0-271c-4a61-b528-de921ff566fb - 1429 - gold_daily - STEP_START - Started execution of step "gold_daily".
Nothing to do. Try checking your model configs and model specification args
2026-12-02 08:52:58 +0000 - dagster - DEBUG - __ASSET_JOB - cca61af0-271c-4a61-b528-de921ff566fb - 1429 - gold_marts - STEP_START - Started execution of step "gold_marts".
Finished running 6 table models, 40 data tests in 0 hours 1 minutes and 2.50 seconds (62.50s).
2026-12-02 08:53:59 +0000 - dagster - DEBUG - __ASSET_JOB - cca61af0-271c-4a61-b528-de921ff566fb - 1429 - RUN_SUCCESS - Finished execution of run for "__ASSET_JOB".
"""


def test_run_id_and_dbt_run_seconds_from_the_cli_output() -> None:
    assert bench.run_id_of(CLI_OUTPUT) == "cca61af0-271c-4a61-b528-de921ff566fb"
    assert bench.run_id_of("no run here") == ""
    # gold_daily's dbt had nothing to do: no "Finished running" line, no entry
    assert bench_gold.dbt_run_seconds(CLI_OUTPUT) == {"gold_reference": 4.86, "gold_marts": 62.5}


def test_gold_round_ratios_are_net_of_the_empty_day_per_step_and_in_total() -> None:
    rounds = [
        bench_gold.GoldRound(a=2.0, day={"gold_reference": 10.0, "gold_daily": 9.0, "gold_marts": 8.0},
                             empty={"gold_reference": 9.0, "gold_daily": 5.0, "gold_marts": 7.0}),
        bench_gold.GoldRound(a=4.0, day={"gold_reference": 12.0, "gold_daily": 14.0, "gold_marts": 9.0},
                             empty={"gold_reference": 8.0, "gold_daily": 6.0, "gold_marts": 7.0}),
        # a step missing from a run (skipped) counts as 0 s
        bench_gold.GoldRound(a=1.0, day={"gold_reference": 3.0, "gold_daily": 4.0},
                             empty={"gold_reference": 2.0, "gold_daily": 1.0, "gold_marts": 1.0}),
    ]  # fmt: skip
    assert [r.net() for r in rounds] == [6.0, 14.0, 3.0]
    assert [r.ratio() for r in rounds] == [3.0, 3.5, 3.0]
    assert [r.ratio("gold_daily") for r in rounds] == [2.0, 2.0, 3.0]
    assert [r.fixed() for r in rounds] == [21.0, 21.0, 4.0]
    # the median of the per-round ratios, not the ratio of the medians (which would be 5 / 2 = 2.5)
    assert bench_gold.median_ratio(rounds) == 3.0
    assert bench_gold.median_ratio(rounds, "gold_marts") == 0.5


def test_breakdown_of_a_gold_step() -> None:
    step = bench_gold.StepTiming(start=100.0, end=130.0, dbt_start=100.5, dbt_end=125.0)
    assert bench_gold.breakdown(step, dbt_run=4.5) == bench_gold.Breakdown(
        before_dbt=0.5, dbt_startup_parse=20.0, dbt_run=4.5, after_dbt=5.0
    )
    assert bench_gold.breakdown(step, dbt_run=4.5).total == 30.0
    # a step that never started dbt is all Dagster
    assert bench_gold.breakdown(bench_gold.StepTiming(start=1.0, end=3.0), 0.0).before_dbt == 2.0


def test_gold_report_prints_every_round_and_the_medians_against_the_targets() -> None:
    rounds = [
        bench_gold.GoldRound(a=2.0, day={"gold_reference": 10.0, "gold_daily": 9.0, "gold_marts": 8.0},
                             empty={"gold_reference": 3.0, "gold_daily": 2.0, "gold_marts": 2.0}),
        bench_gold.GoldRound(a=4.0, day={"gold_reference": 4.0, "gold_daily": 6.0, "gold_marts": 3.0},
                             empty={"gold_reference": 2.0, "gold_daily": 2.0, "gold_marts": 3.0}),
    ]  # fmt: skip
    assert bench_gold.gold_round_lines(rounds) == [
        "  round 1: a 2.00 s; g/e per step: reference 10.00/3.00  daily 9.00/2.00  marts 8.00/2.00 s; "
        "g 27.00 e 7.00 s; (g - e) / a = 10.00 [3.50 3.50 3.00]",
        "  round 2: a 4.00 s; g/e per step: reference 4.00/2.00  daily 6.00/2.00  marts 3.00/3.00 s; "
        "g 13.00 e 7.00 s; (g - e) / a = 1.50 [0.50 1.00 0.00]",
    ]
    summary = bench_gold.gold_summary_lines(rounds)
    assert (
        summary[4] == "  total               20.00     7.00    13.00 median 5.75, IQR 3.62-7.88 [10.00 1.50]"
    )
    assert summary[-2] == "  total (g - e) / a = 5.75 (target <= 1.5): NOT met"
    assert (
        summary[-1]
        == "  fixed overhead, gold steps of (e) = 7.00 s, median 7.00, IQR 7.00-7.00 (target <= 8 s): met"
    )


def test_backfill_report_is_the_median_speedup_of_the_rounds() -> None:
    lines = bench_gold.backfill_lines([10.0, 20.0, 12.0], [[20.0, 40.0], [30.0, 30.0], [24.0, 24.0]], 2)
    assert (
        lines[0]
        == "  round 1: range run 10.0 s; 2 single runs 60.0 s (median 30.0 s, each [20.00 40.00]); speed-up 6.00x"
    )
    assert lines[-1] == (
        "  single runs / range run = 4.00x, median 4.00, IQR 3.50-5.00 of the rounds [6.00 3.00 4.00] "
        "(target >= 5x): NOT met"
    )
    # two single runs made of 30 days: scaled up
    (line, verdict) = bench_gold.backfill_lines([60.0], [[20.0, 40.0]], 30)
    assert line == (
        "  round 1: range run 60.0 s; 2 single runs 60.0 s, scaled to 30 days: 900.0 s "
        "(median 30.0 s, each [20.00 40.00]); speed-up 15.00x"
    )
    assert verdict.endswith("(target >= 5x): met")


@dg.asset
def fake_dbt_step(context) -> None:  # not annotated: this module's annotations are strings
    context.log.info("Running dbt command: `dbt build`.")
    context.log.info("Finished dbt command: `dbt build`.")


def test_step_timings_come_from_a_real_event_log(tmp_path: Path) -> None:
    """The child process reads STEP_START / STEP_SUCCESS and dagster-dbt's messages from a real
    instance's event log (a tiny in-process run logging as dagster-dbt does)."""
    home = init_dagster_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = dg.materialize([fake_dbt_step], instance=instance).run_id
    timings = bench_gold.step_timings({**os.environ, "DAGSTER_HOME": str(home)}, [run_id])
    (step,) = timings[run_id].values()
    assert list(timings[run_id]) == ["fake_dbt_step"]
    assert step.start <= step.dbt_start <= step.dbt_end <= step.end
    assert 0 < step.seconds < 10


def test_gold_checks_read_the_warehouse(tmp_path: Path) -> None:
    """The bench checks that gold carries the day (silver orders = fact rows = daily_sales orders)
    and compares the gold tables' row counts of the range run and the single runs."""
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("""CREATE SCHEMA silver; CREATE SCHEMA gold;
            CREATE TABLE silver.orders AS SELECT DATE '2024-01-01' + (i % 2)::INT AS _partition_date FROM range(5) t(i);
            CREATE TABLE gold.fact_orders AS SELECT _partition_date AS partition_date FROM silver.orders;
            CREATE TABLE gold.daily_sales AS SELECT DATE '2024-01-01' AS partition_date, 2 AS orders
                UNION ALL SELECT DATE '2024-01-01', 1;
            CREATE VIEW gold.stg AS SELECT 1 AS x""")  # fmt: skip
    assert bench_gold.day_rows(db, date(2024, 1, 1)) == (3, 3, 3)
    assert bench_gold.day_rows(db, date(2024, 1, 2)) == (2, 2, 0)
    assert bench_gold.gold_row_counts(db) == {"daily_sales": 2, "fact_orders": 5}  # tables, not views
    assert bench_gold.carries_day({(3, 3, 3)})
    assert not bench_gold.carries_day({(2, 2, 0)})
    assert not bench_gold.carries_day({(0, 0, 0)})
    assert not bench_gold.carries_day({(3, 3, 3), (4, 4, 4)})
