"""`make bench`, part two: 90 days at the demo volume (2,000 orders a day), built by one range run of
`*`, then single-day re-runs of `*` for day 5 and day 90 and for a day without files.

Every day carries the same volume, so a day-90 run should cost what a day-5 run costs: a growing
gap means some step scans or rewrites the whole history. Each re-run starts from a copy of the built
warehouse, so every round sees the same state. Also reports the warehouse file size after the build.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb

from shopflow_assets.bench import cached_landing, instance_env, load_average, runs, spread, timed_cli

START = date(2024, 1, 1)
DAYS = int(os.environ.get("BENCH_HISTORY_DAYS", "90"))
ORDERS = int(os.environ.get("BENCH_HISTORY_ORDERS", "2000"))
ROUNDS = int(os.environ.get("BENCH_HISTORY_ROUNDS", "5"))
# The day bench's low rate, not the demo's 2 %: this bench is about volume. At 2 %, 90 days put a null
# campaign_id into campaigns files of 2-4 records, which stopped the range run while every critical
# rule had the 10 % threshold (rules.yaml now gives small files their own).
DEFECT_RATE = float(os.environ.get("BENCH_HISTORY_DEFECT_RATE", "0.001"))
EARLY = START + timedelta(days=4)  # day 5
LATE = START + timedelta(days=DAYS - 1)  # day 90
EMPTY = LATE + timedelta(days=1)  # no landing files
TARGET_RATIO = 1.1
BASELINE_MB = 43.0  # the 90-day warehouse before issue 9


def warehouse_mb(db: Path) -> float:
    """File size after a CHECKPOINT, so the WAL is folded in and the figure is the file's own."""
    with duckdb.connect(str(db)) as con:
        con.execute("CHECKPOINT")
    return db.stat().st_size / 2**20


def layer_rows(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        bronze, silver, quarantined = con.execute(
            """SELECT (SELECT count(*) FROM bronze.orders), (SELECT count(*) FROM silver.orders),
                      (SELECT count(*) FROM quarantine.rejected_records)"""
        ).fetchone()
    return f"{bronze:,} bronze orders, {silver:,} silver orders, {quarantined:,} quarantined records"


def history_bench() -> bool:
    landing = cached_landing(START, DAYS, ORDERS, defect_rate=DEFECT_RATE)
    print(f"History bench starts: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-history-") as tmp_name:
        tmp = Path(tmp_name)
        built, db = tmp / "built.duckdb", tmp / "shopflow.duckdb"
        env = instance_env(tmp, landing, built)
        build_s, build_rss = timed_cli((START, LATE), env, "*")
        print(f"  built {DAYS} days in {build_s:.1f} s", flush=True)
        size_mb = warehouse_mb(built)
        rows = layer_rows(built)
        env["SHOPFLOW_DUCKDB_PATH"] = str(db)
        times: dict[date, list[float]] = {EARLY: [], LATE: [], EMPTY: []}
        rss = 0.0
        for i in range(ROUNDS):  # interleaved, every other round in reverse so no day always goes first
            for day in list(times)[:: 1 if i % 2 == 0 else -1]:
                shutil.copy(built, db)
                elapsed, peak = timed_cli(day, env, "*")
                times[day].append(elapsed)
                rss = max(rss, peak)
                print(f"  round {i + 1}: {day} {elapsed:.2f} s", flush=True)
        rerun_mb = warehouse_mb(db)

    early, late, empty = times[EARLY], times[LATE], times[EMPTY]
    ratios = [b / a for a, b in zip(early, late, strict=True)]
    net = [(b - c) / (a - c) for a, b, c in zip(early, late, empty, strict=True)]
    ratio = statistics.median(ratios)
    print(f"\nHistory benchmark: {DAYS} days x {ORDERS:,} orders from {START}, defect rate {DEFECT_RATE}")
    print(
        f"  one range run of '*' over {START}...{LATE}: {build_s:.1f} s, peak RSS {build_rss:,.0f} MiB ({rows})"
    )
    print(
        f"  warehouse after the build (CHECKPOINT): {size_mb:.1f} MiB   (before issue 9: {BASELINE_MB:.0f} MB)"
    )
    print(f"  {ROUNDS} rounds of single-day re-runs of '*', each from a copy of the built warehouse:")
    print(f"    day 5  ({EARLY})         {statistics.median(early):7.2f} s   {runs(early)}")
    print(f"    day {DAYS} ({LATE})         {statistics.median(late):7.2f} s   {runs(late)}")
    print(f"    no files ({EMPTY})     {statistics.median(empty):7.2f} s   {runs(empty)}")
    print(
        f"  peak RSS of a re-run: {rss:,.0f} MiB; warehouse after the round's last re-run: {rerun_mb:.1f} MiB"
    )
    print(f"  day {DAYS} / day 5 = {ratio:.2f}, {spread(ratios)} of the rounds {runs(ratios)}   "
          f"(target <= {TARGET_RATIO})")  # fmt: skip
    print(f"  without the fixed cost, (day {DAYS} - empty) / (day 5 - empty): {spread(net)} {runs(net)}")
    ok = ratio <= TARGET_RATIO
    print("  history target:", "met" if ok else "NOT met")
    print(f"  history bench ends: {load_average()}")
    return ok
