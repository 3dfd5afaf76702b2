"""The `shopflow` command: data generation and warehouse summaries.

Materialization itself is Dagster's own CLI (`dagster asset materialize`), documented in README.
"""

from __future__ import annotations

import argparse
import sys

from shopflow_assets.generator.cli import add_generate_parser, run_generate
from shopflow_assets.lib.warehouse import DEFAULT_LOCK_TIMEOUT_SECONDS, duckdb_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopflow", description="ShopFlow data platform tools")
    sub = parser.add_subparsers(dest="command", required=True)
    add_generate_parser(sub)
    summary = sub.add_parser("summary", help="print rows per table and day, rejects and files read")
    summary.add_argument("--db", help="DuckDB file (default: $SHOPFLOW_DUCKDB_PATH or data/warehouse/)")
    summary.add_argument(
        "--lock-timeout",
        type=float,
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long to wait while a run holds the warehouse's write lock (default: %(default).0f)",
    )
    quality = sub.add_parser(
        "quality-report", help="one day's silver quality: scores, rules, failing records, alerts, trend"
    )
    quality.add_argument("--date", required=True, help="business date, YYYY-MM-DD")
    quality.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    quality.add_argument("--db", help="DuckDB file (default: $SHOPFLOW_DUCKDB_PATH or data/warehouse/)")
    migrate = sub.add_parser(
        "migrate-master-data",
        help="convert per-day snapshot master data (older ShopFlow) into versions, rebuilt from bronze",
    )
    migrate.add_argument("--db", help="DuckDB file (default: $SHOPFLOW_DUCKDB_PATH or data/warehouse/)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        return run_generate(args)
    if args.command == "summary":
        from shopflow_assets.reports.summary import print_summary

        return print_summary(duckdb_path(args.db), lock_timeout=args.lock_timeout)
    if args.command == "quality-report":
        from shopflow_assets.reports.quality import print_quality_report

        return print_quality_report(duckdb_path(args.db), args.date, as_json=args.json)
    if args.command == "migrate-master-data":
        from shopflow_assets.defs.silver.migrate import migrate_master_data

        return migrate_master_data(duckdb_path(args.db))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
