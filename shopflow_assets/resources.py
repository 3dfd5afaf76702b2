"""Resources: the DuckDB warehouse and the landing folder.

Both take an explicit path from run config, else their environment variable, else the repo default,
resolved when a run uses them (never at import), so `dagster dev`, the CLI and tests need no setup.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DUCKDB_PATH = REPO_ROOT / "data" / "warehouse" / "shopflow.duckdb"
DEFAULT_LANDING_DIR = REPO_ROOT / "data" / "landing"


def _resolve(explicit: str | None, env_var: str, default: Path) -> Path:
    return Path(explicit or os.environ.get(env_var) or default).expanduser().resolve()


def duckdb_path(explicit: str | None = None) -> Path:
    return _resolve(explicit, "SHOPFLOW_DUCKDB_PATH", DEFAULT_DUCKDB_PATH)


def landing_dir(explicit: str | None = None) -> Path:
    return _resolve(explicit, "SHOPFLOW_LANDING_DIR", DEFAULT_LANDING_DIR)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the session settings every query here assumes (UTC, insertion order)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
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

    @property
    def database(self) -> Path:
        return duckdb_path(self.path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.database, read_only=read_only) as con:
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
