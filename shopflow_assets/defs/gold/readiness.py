"""Which selected dbt models a run can build now: a model whose inputs do not exist yet (the silver
table of a source nothing has delivered, a dimension no run has built) is left out of the dbt
invocation with a warning that names what it waits for, instead of failing the run on dbt's catalog
error. Sensor runs arrive in any order: an orders file before the first catalog, say."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import duckdb


@cache
def _manifest(path: Path) -> Mapping[str, Any]:
    return json.loads(path.read_text())


def existing_relations(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (schema, name)
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
    }


def waiting_models(
    manifest_path: Path, selected: Iterable[str], existing: set[tuple[str, str]]
) -> dict[str, str]:
    """{model name: the missing relation it waits for} among the selected models (by name)."""
    manifest = _manifest(manifest_path)
    nodes, sources = manifest["nodes"], manifest["sources"]
    chosen = {
        uid
        for uid, n in nodes.items()
        if n["resource_type"] in ("model", "seed") and n["name"] in set(selected)
    }
    missing: dict[str, str | None] = {}

    def blocker(uid: str) -> str | None:
        """The first missing relation `uid` needs, or None when it can be built (or exists)."""
        if uid in missing:
            return missing[uid]
        missing[uid] = None  # no cycles in a dbt graph; guards the recursion anyway
        if uid.startswith("source."):
            s = sources[uid]
            name = s.get("identifier") or s["name"]
            found = None if (s["schema"], name) in existing else f"{s['schema']}.{name}"
        else:
            node = nodes[uid]
            if node["resource_type"] not in ("model", "seed"):
                found = None
            elif uid in chosen or node["config"].get("materialized") == "ephemeral":
                found = next(
                    (b for dep in node.get("depends_on", {}).get("nodes", []) if (b := blocker(dep))), None
                )
            else:
                relation = (node["schema"], node.get("alias") or node["name"])
                found = None if relation in existing else f"{relation[0]}.{relation[1]}"
        missing[uid] = found
        return found

    return {nodes[uid]["name"]: b for uid in sorted(chosen) if (b := blocker(uid))}
