"""Shared fixtures: a temp landing folder and a temp DuckDB warehouse, loaded with the real loader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from shopflow_assets.defs.bronze.load import LoadResult, load_bronze
from shopflow_assets.lib.warehouse import connect
from shopflow_assets.sources import SOURCES

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """The gold assets are defined from the dbt manifest `make manifest` prepares; a bare `pytest`
    prepares it the same way when it is missing or older than a dbt file."""
    dbt_dir = REPO / "dbt_project"
    manifest = dbt_dir / "target" / "manifest.json"
    sources = [
        p for p in dbt_dir.rglob("*") if p.suffix in (".sql", ".yml", ".csv") and "target" not in p.parts
    ]
    if manifest.exists() and all(p.stat().st_mtime <= manifest.stat().st_mtime for p in sources):
        return
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run([dbt, "parse", "--quiet", "--profiles-dir", "."], cwd=dbt_dir, check=True)


ORDER_HEADER = [
    "order_id", "customer_id", "product_id", "store_id", "sales_channel", "payment_method",
    "quantity", "unit_price", "discount_percent", "total", "status", "order_timestamp",
]  # fmt: skip


def order_line(order_id: str, day: str = "2024-01-15", quantity: str = "2", **overrides: str) -> list[str]:
    row = {
        "order_id": order_id, "customer_id": "CUST000001", "product_id": "P0001", "store_id": "ST001",
        "sales_channel": "store", "payment_method": "cash", "quantity": quantity, "unit_price": "10.00",
        "discount_percent": "0", "total": f"{int(quantity) * 10 if quantity.isdigit() else 0}.00",
        "status": "completed", "order_timestamp": f"{day} 10:00:00",
    }  # fmt: skip
    row.update(overrides)
    return [row[c] for c in ORDER_HEADER]


def write_csv(
    path: Path,
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
    header: list[str] | None = None,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [delimiter.join(header or ORDER_HEADER)] + [delimiter.join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "shopflow.duckdb"


INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"


def init_dagster_home(home: Path, config: str = INSTANCE_CONFIG) -> Path:
    """A DAGSTER_HOME initialised as `make instance` does, before anything runs concurrently: loading
    the instance once creates and stamps its SQLite storage. Processes doing that at the same time on
    a brand-new home stamp a schema twice ("more than one head") and every later run fails."""
    import dagster as dg

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(config)
    dg.DagsterInstance.from_config(str(home)).dispose()
    return home


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A temp instance (telemetry off), initialised: every CLI subprocess of a test can share it."""
    return init_dagster_home(tmp_path / "dagster_home")


Loader = Callable[..., LoadResult]


@pytest.fixture
def load(landing: Path, warehouse: Path) -> Loader:
    """Load one source for [start, start + days) exactly as the bronze asset does."""

    def _load(source: str, start: str, days: int = 1, run_id: str = "test-run") -> LoadResult:
        first = date.fromisoformat(start)
        with connect(warehouse) as con:
            return load_bronze(con, SOURCES[source], landing, first, first + timedelta(days=days), run_id)

    return _load


@pytest.fixture
def query(warehouse: Path) -> Callable[..., list[tuple]]:
    def _query(sql: str, params: list | None = None) -> list[tuple]:
        with connect(warehouse, read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return _query


GENERATED_START = date(2024, 1, 1)
GENERATED_DAYS = 4


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A generated landing zone (with defects, late and corrected files) loaded into bronze once."""
    from shopflow_assets.generator import generate

    root = tmp_path_factory.mktemp("generated")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    manifest = generate(
        landing, GENERATED_START, GENERATED_DAYS, 300, seed=11, defect_rate=0.05, late_files=True
    )
    end = GENERATED_START + timedelta(days=GENERATED_DAYS)
    with connect(warehouse) as con:
        for spec in SOURCES.values():
            load_bronze(con, spec, landing, GENERATED_START, end, "generated-run")
    last = (end - timedelta(days=1)).isoformat()
    assert materialize("group:silver", landing, warehouse, GENERATED_START.isoformat(), last).success
    return landing, warehouse, manifest


def materialize(
    selection: str,
    landing: Path,
    warehouse: Path,
    start: str,
    end: str | None = None,
    rules: Path | None = None,
    raise_on_error: bool = True,
    check: str | None = None,
    instance=None,
    gold: bool = False,
):
    """A real in-process Dagster run of the code location's assets over one partition or a range
    (as one single-run backfill would), against a temp landing folder and warehouse. The gold (dbt)
    assets only with `gold=True`: the bronze and silver tests do not pay for dbt."""
    import dagster as dg

    from shopflow_assets.definitions import defs
    from shopflow_assets.defs.gold.project import dbt_resource
    from shopflow_assets.lib.warehouse import LandingZoneResource, QualityRulesResource, WarehouseResource

    tags = {}
    if end and end != start:
        tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    assets = [*defs.assets, *defs.asset_checks]
    resources = {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "landing": LandingZoneResource(path=str(landing)),
        "quality": QualityRulesResource(path=str(rules) if rules else None),
        "dbt": dbt_resource(),
    }
    chosen = dg.AssetSelection.from_coercible(selection)
    if not gold:
        chosen = chosen - dg.AssetSelection.groups("gold")
    if check:  # one check of the selected asset, on its own, as "Execute check" in the UI
        key = dg.AssetKey.from_user_string(selection)
        job = dg.define_asset_job(
            "checks_only", selection=dg.AssetSelection.checks(dg.AssetCheckKey(key, check))
        )
        scoped = dg.Definitions(
            assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job], resources=resources
        )
        return scoped.resolve_job_def("checks_only").execute_in_process(
            tags={"dagster/partition": start}, raise_on_error=raise_on_error
        )
    return dg.materialize(
        assets,
        selection=chosen,
        partition_key=None if tags else start,
        tags=tags,
        raise_on_error=raise_on_error,
        resources=resources,
        instance=instance,
    )


@contextmanager
def write_lock_held(database: Path) -> Iterator[None]:
    """Another process holds the DuckDB file's write lock, as a run in progress would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(300)", str(database)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()
