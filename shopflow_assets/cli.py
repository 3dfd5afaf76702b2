"""The `shopflow` command: data generation and warehouse summaries.

Materialization itself is Dagster's own CLI (`dagster asset materialize`), documented in README.
"""

from __future__ import annotations

import argparse
import sys

from shopflow_assets.generator.cli import add_generate_parser, run_generate
from shopflow_assets.resources import duckdb_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopflow", description="ShopFlow data platform tools")
    sub = parser.add_subparsers(dest="command", required=True)
    add_generate_parser(sub)
    summary = sub.add_parser("summary", help="print rows per table and day, rejects and files read")
    summary.add_argument("--db", help="DuckDB file (default: $SHOPFLOW_DUCKDB_PATH or data/warehouse/)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        return run_generate(args)
    if args.command == "summary":
        from shopflow_assets.summary import print_summary

        return print_summary(duckdb_path(args.db))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
