"""The DuckDB warehouse, the landing folder and the rules file: their paths, the locking connection,
and the resources that carry them into runs (bound in defs/resources.py).

Each takes an explicit path from run config, else their environment variable, else the repo default,
resolved when a run uses them (never at import), so `dagster dev`, the CLI and tests need no setup.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DUCKDB_PATH = REPO_ROOT / "data" / "warehouse" / "shopflow.duckdb"
DEFAULT_LANDING_DIR = REPO_ROOT / "data" / "landing"


def _resolve(explicit: str | None, env_var: str, default: Path) -> Path:
    return Path(explicit or os.environ.get(env_var) or default).expanduser().resolve()


def duckdb_path(explicit: str | None = None) -> Path:
    return _resolve(explicit, "SHOPFLOW_DUCKDB_PATH", DEFAULT_DUCKDB_PATH)


def landing_dir(explicit: str | None = None) -> Path:
    return _resolve(explicit, "SHOPFLOW_LANDING_DIR", DEFAULT_LANDING_DIR)


DEFAULT_LOCK_TIMEOUT_SECONDS = 120.0


class WarehouseLockedError(RuntimeError):
    """Another process held the DuckDB file's write lock for longer than we were willing to wait."""


def _open(path: Path, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """DuckDB admits one writing process; a second one gets a lock error at once. Runs are
    serialised by Dagster (see dagster.yaml), but a CLI run or a report can still collide with a
    run in progress, so wait for the lock with backoff before giving up with a clear message."""
    deadline = time.monotonic() + lock_timeout
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"{path} is locked by another process (waited {lock_timeout:.0f} s): {exc}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def connect(
    path: Path, read_only: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the session settings every query here assumes (UTC)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, lock_timeout)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. DuckDB allows one writing process: writers use `connect()`,
    readers (checks, reports) `connect(read_only=True)`."""

    path: str | None = Field(
        default=None, description="DuckDB file; defaults to $SHOPFLOW_DUCKDB_PATH, then data/warehouse/"
    )
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS, description="how long to wait for another process's write lock"
    )

    @property
    def database(self) -> Path:
        return duckdb_path(self.path)

    @contextmanager
    def connect(
        self, read_only: bool = False, lock_timeout: float | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        timeout = self.lock_timeout_seconds if lock_timeout is None else lock_timeout
        with connect(self.database, read_only=read_only, lock_timeout=timeout) as con:
            yield con


class LandingZoneResource(dg.ConfigurableResource):
    """The landing folder the retailer's systems drop files into."""

    path: str | None = Field(
        default=None, description="Landing folder; defaults to $SHOPFLOW_LANDING_DIR, then data/landing/"
    )

    @property
    def root(self) -> Path:
        return landing_dir(self.path)


class QualityRulesResource(dg.ConfigurableResource):
    """The rules.yaml users edit: severities, actions and thresholds of the silver rules."""

    path: str | None = Field(
        default=None,
        description="rules file; defaults to $SHOPFLOW_QUALITY_RULES, then the packaged rules.yaml",
    )

    def load(self):  # -> QualityConfig; imported lazily to keep the code location import light
        from shopflow_assets.quality.config import DEFAULT_RULES_FILE, load_quality_config

        return load_quality_config(_resolve(self.path, "SHOPFLOW_QUALITY_RULES", DEFAULT_RULES_FILE))
