"""`shopflow migrate-master-data`: convert a warehouse whose master data are per-day snapshots.

Older ShopFlow versions kept silver.products and the customer master as one full copy per day. The
versions are rebuilt from bronze (which holds every delivery): the old tables are set aside as
silver._snapshot_<name>, the master assets are materialized over every delivered day as one Dagster
run, and the orders / inventory days that now resolve differently are rebuilt. Only when all of that
succeeded are the old tables dropped; on failure they are put back, so nothing is half-converted.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from shopflow_assets.defs.silver.versions import snapshot_shaped
from shopflow_assets.lib.schema import MASTER_TABLES
from shopflow_assets.lib.transaction import transaction
from shopflow_assets.lib.warehouse import connect

MASTER_SOURCES = ("products", "customers", "accounts")
MASTER_ASSETS = "silver/products,silver/customers,silver/customer_id_map,silver/customer_duplicates"
LOOKING_UP = "silver/orders,silver/inventory_movements"


def _set_aside(db: Path) -> list[str]:
    """Rename the snapshot-shaped master tables (and drop any versioned half) in one transaction."""
    with connect(db) as con, transaction(con):
        old = snapshot_shaped(con)
        for name in MASTER_TABLES:
            if name in old:
                con.execute(f"ALTER TABLE silver.{name} RENAME TO _snapshot_{name}")
            else:
                con.execute(f"DROP TABLE IF EXISTS silver.{name}")
        return old


def _restore(db: Path, old: list[str]) -> None:
    with connect(db) as con, transaction(con):
        for name in MASTER_TABLES:
            con.execute(f"DROP TABLE IF EXISTS silver.{name}")
        for name in old:
            con.execute(f"ALTER TABLE silver._snapshot_{name} RENAME TO {name}")


def _delivered_days(db: Path) -> tuple[date, date] | None:
    with connect(db, read_only=True) as con:
        return con.execute(
            "SELECT min(_partition_date), max(_partition_date) FROM ("
            + " UNION ALL ".join(f"SELECT _partition_date FROM bronze.{s}" for s in MASTER_SOURCES)
            + ")"
        ).fetchone()


def _stale_range(db: Path) -> tuple[date, date] | None:
    with connect(db, read_only=True) as con:
        first, last = con.execute(
            "SELECT min(partition_date), max(partition_date) FROM meta.stale_partitions"
        ).fetchone()
    return (first, last) if first else None


def _materialize(db: Path, selection: str, first: date, last: date) -> bool:
    """One Dagster run of `selection` over [first, last], recorded in the instance when DAGSTER_HOME is set."""
    import dagster as dg

    from shopflow_assets.definitions import defs
    from shopflow_assets.defs.gold.project import dbt_resource
    from shopflow_assets.lib.warehouse import LandingZoneResource, QualityRulesResource, WarehouseResource

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    tags = {"shopflow/reason": "migrate-master-data"}
    if first != last:
        tags |= {"dagster/asset_partition_range_start": first.isoformat(),
                 "dagster/asset_partition_range_end": last.isoformat()}  # fmt: skip
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.from_coercible(selection.split(",")),
        partition_key=first.isoformat() if first == last else None,
        tags=tags,
        instance=instance,
        raise_on_error=False,
        resources={
            "warehouse": WarehouseResource(path=str(db)),
            "landing": LandingZoneResource(),
            "quality": QualityRulesResource(),
            "dbt": dbt_resource(),  # required by the definitions passed, though gold is not selected
        },
    )
    return result.success


def migrate_master_data(db: Path) -> int:
    """Convert `db`; print what happened. 0 on success (or nothing to do), 1 on failure."""
    if not db.exists():
        print(f"{db}: no warehouse, nothing to migrate")
        return 0
    with connect(db, read_only=True) as con:
        old = snapshot_shaped(con)
    if not old:
        print(f"{db}: master data are already versioned, nothing to migrate")
        return 0
    old = _set_aside(db)
    days = _delivered_days(db)
    ok = True
    if days and days[0]:
        print(f"rebuilding silver master data as versions from bronze, {days[0]} to {days[1]} ...")
        ok = _materialize(db, MASTER_ASSETS, days[0], days[1])
        stale = _stale_range(db) if ok else None
        if ok and stale:
            print(
                f"rebuilding orders and inventory movements that now resolve differently, {stale[0]} to {stale[1]} ..."
            )
            ok = _materialize(db, LOOKING_UP, stale[0], stale[1])
    if not ok:
        _restore(db, old)
        print("migration failed (see the run's log above); the old tables are back unchanged")
        return 1
    with connect(db) as con, transaction(con):
        for name in old:
            con.execute(f"DROP TABLE silver._snapshot_{name}")
    print(f"migrated silver.{', silver.'.join(old)} to versioned master data")
    return 0
