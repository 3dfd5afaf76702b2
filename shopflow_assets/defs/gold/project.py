"""The dbt project behind the gold layer: where it lives, its manifest, how Dagster names its nodes,
and how a run's partition window becomes dbt vars.

The manifest is prepared by `make manifest` (`dbt parse`, cached until a dbt file changes) and only
read here: importing the code location never runs dbt."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject
from packaging import version

from shopflow_assets.lib.metadata import OWNERS
from shopflow_assets.lib.warehouse import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


class ShopflowDbtResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs this project never uses, about 3 s
    of every gold step's fixed overhead: it asks the `dbt` executable its version (a whole dbt start-up,
    ~2 s: here it is the installed dbt-core's), and builds an in-process dbt adapter before each
    invocation (~1.7 s), which only its `fetch_row_counts` / column metadata use: the gold steps
    count rows themselves once dbt has released the DuckDB file (facts.py). Both override private
    dagster-dbt methods; dagster-dbt is pinned, and test_dbt_project.py runs dbt through this resource."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    """dbt from this interpreter's environment: a daemon-launched run need not have .venv/bin on PATH."""
    return ShopflowDbtResource(
        project_dir=str(DBT_DIR),
        profiles_dir=str(DBT_DIR),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def manifest_path() -> Path:
    """The prepared manifest; a clear error (not dbt's parse) when `make manifest` has not run."""
    path = Path(dbt_project.manifest_path)
    if not path.exists():
        raise FileNotFoundError(
            f"the dbt manifest {path} is missing: run `make manifest` (dbt parse) once, "
            "and again after changing the dbt project (make demo, dev and test do it)"
        )
    return path


def dbt_vars(start: date, end: date) -> dict[str, str]:
    """The half-open window [start, end) as the dbt vars the incremental models replace."""
    if end <= start:
        raise ValueError(f"empty partition window [{start}, {end})")
    return {"min_date": start.isoformat(), "max_date": end.isoformat()}


def vars_arg(start: date, end: date) -> list[str]:
    return ["--vars", json.dumps(dbt_vars(start, end))]


class GoldTranslator(DagsterDbtTranslator):
    """dbt models, seeds and snapshots are `gold/<name>` in group `gold`; sources keep the silver
    asset keys declared in their YAML meta, so silver -> gold is one graph."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey(["gold", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "gold"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if "models/marts/business" in dbt_resource_props.get("original_file_path", ""):
            return MARTS_AUTOMATION
        return None


# The all-time marts are rebuilt once their upstream partitions have changed (in a run that did not
# rebuild the marts too) and nothing upstream is still running. Not `eager()`: its "no dependency
# missing" never holds below daily partitions that go back to the start date, and its "newly
# missing" would start a run on an empty warehouse the moment the daemon starts.
MARTS_AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.in_progress()
    & ~dg.AutomationCondition.any_deps_in_progress()
).with_label("rebuild after upstream partitions change")
