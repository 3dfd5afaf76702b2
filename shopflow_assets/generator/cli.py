"""``shopflow generate``: the argparse subcommand that writes a synthetic landing zone."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from shopflow_assets.generator.manifest import MANIFEST_NAME, ORIGINALS_DIR
from shopflow_assets.generator.run import generate


def add_generate_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``generate`` on the ``shopflow`` command's subparsers."""
    parser = subparsers.add_parser(
        "generate",
        help="write synthetic landing files (with defects) and their _manifest.json",
        description="Write N days of landing files for every source, plus _manifest.json (the ground truth).",
    )
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2024, 1, 1),
        help="first business day (default 2024-01-01)",
    )
    parser.add_argument("--days", type=int, default=14, help="number of days (default 14)")
    parser.add_argument("--orders-per-day", type=int, default=2000, help="orders per day (default 2000)")
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed; same seed, same bytes (default 42)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out(),
        help="landing folder (default $SHOPFLOW_LANDING_DIR if set, else data/landing)",
    )
    parser.add_argument(
        "--defect-rate", type=float, default=0.02, help="share of defective records per file (default 0.02)"
    )
    parser.add_argument(
        "--late-files", action="store_true", help="also write late files and one corrected orders file"
    )
    parser.set_defaults(func=run_generate)
    return parser


def default_out() -> Path:
    """Where files go without ``--out``: the platform's landing folder, $SHOPFLOW_LANDING_DIR when it
    is set (and not empty), else ``data/landing`` relative to the working directory."""
    return Path(os.environ.get("SHOPFLOW_LANDING_DIR") or "data/landing").expanduser()


def _stale_files(out: Path, manifest: dict) -> list[str]:
    """Landing files from an earlier run that this manifest does not describe."""
    listed = {f["path"] for f in manifest["files"]}
    stale = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if (
            path.is_file()
            and relative != MANIFEST_NAME
            and not relative.startswith(ORIGINALS_DIR)
            and relative not in listed
        ):
            stale.append(relative)
    return stale


def run_generate(args: argparse.Namespace) -> int:
    """Run the generator and print a short summary; returns the process exit code."""
    started = time.perf_counter()
    try:
        manifest = generate(
            out=args.out,
            start=args.start,
            days=args.days,
            orders_per_day=args.orders_per_day,
            seed=args.seed,
            defect_rate=args.defect_rate,
            late_files=args.late_files,
        )
    except ValueError as error:  # invalid parameters, reported like argparse does
        print(f"shopflow generate: error: {error}", file=sys.stderr)
        return 2
    records = Counter()
    for entry in manifest["files"]:
        records[entry["source"]] += entry["records"]
    print(f"wrote {len(manifest['files'])} files to {args.out} in {time.perf_counter() - started:.1f}s")
    for source, count in sorted(records.items()):
        print(f"  {source:<10} {count:>10,} records")
    print(f"  defects    {len(manifest['defects']):>10,} (see {args.out / MANIFEST_NAME})")
    stale = _stale_files(Path(args.out), manifest)
    if stale:
        print(f"warning: {len(stale)} file(s) in {args.out} are not from this run, e.g. {stale[0]}")
    return 0
