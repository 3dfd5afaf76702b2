"""`make bench`, part three (`make bench-big` alone): one 5,000,000-order day (BENCH_BIG_ORDERS)
through bronze and silver, one run per step with its time and peak RSS: memory must stay bounded as
the day grows, which the 1,000,000-order day cannot show.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shopflow_assets.bench import (
    DAY,
    EMPTY_DAY,
    TARGETS,
    UPSTREAM_OF_SILVER_ORDERS,
    cached_landing,
    duckdb_alone,
    instance_env,
    load_average,
    orders_csv,
    timed_cli,
)
from shopflow_assets.lib.warehouse import connect

ORDERS = int(os.environ.get("BENCH_BIG_ORDERS", "5000000"))


def big_bench() -> bool:
    landing = cached_landing(DAY, 1, ORDERS, seed=7, defect_rate=0.001)
    csv_path, orders_file = orders_csv(landing, DAY)
    print(f"Big-day bench starts: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-big-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "shopflow.duckdb"
        env = instance_env(tmp, landing, db)
        c_env = {**env, "SHOPFLOW_DUCKDB_PATH": str(tmp / "c.duckdb")}
        steps = {}  # in order, all on one warehouse: each step reads what the one before wrote
        for name, day, select, step_env in [
            ("(c) empty day, bronze/orders", EMPTY_DAY, "bronze/orders", c_env),
            ("(b) bronze/orders", DAY, "bronze/orders", env),
            ("    other sources, catalog, customer master", DAY, UPSTREAM_OF_SILVER_ORDERS, env),
            ("(d) silver/orders", DAY, "silver/orders", env),
        ]:
            steps[name] = timed_cli(day, step_env, select)
            print(f"  {name.strip()}: {steps[name][0]:.1f} s, peak RSS {steps[name][1]:,.0f} MiB", flush=True)
        with connect(db, read_only=True) as con:
            bronze_rows, silver_rows = con.execute(
                "SELECT (SELECT count(*) FROM bronze.orders), (SELECT count(*) FROM silver.orders)"
            ).fetchone()
        # last, so that its load of the page cache and disk does not precede the timed steps
        a = duckdb_alone(csv_path, tmp / "a.duckdb")

    c = steps["(c) empty day, bronze/orders"][0]
    (b, rss_b), (d, rss_d) = steps["(b) bronze/orders"], steps["(d) silver/orders"]
    print(f"\nBig-day benchmark: {orders_file['records']:,} records, {csv_path.stat().st_size / 1e6:,.0f} MB CSV; "
          f"{bronze_rows:,} rows in bronze, {silver_rows:,} in silver; one run per step")  # fmt: skip
    print(f"  {'(a) DuckDB alone, CREATE TABLE AS read_csv':46} {a:8.1f} s")
    for name, (seconds, rss) in steps.items():
        print(f"  {name:46} {seconds:8.1f} s   peak RSS {rss:7,.0f} MiB")
    print(
        f"  (b - c) / a = {(b - c) / a:.2f}, (d - c) / a = {(d - c) / a:.2f} (one run each: indicative only)"
    )
    ok = rss_b <= TARGETS["rss_mb"] and rss_d <= TARGETS["silver_rss_mb"]
    print("  memory targets:", "met" if ok else "NOT met",
          f"(RSS(b) <= {TARGETS['rss_mb']:.0f} MiB, RSS(d) <= {TARGETS['silver_rss_mb']:.0f} MiB)")  # fmt: skip
    print(f"  big-day bench ends: {load_average()}")
    return ok
