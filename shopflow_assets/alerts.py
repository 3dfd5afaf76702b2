"""Alerts: one row per failure in meta.alerts and, when SHOPFLOW_SLACK_WEBHOOK_URL is set, the same
message posted to Slack. Posting is best effort: a failed post is logged, never raised.

An alert raised while another process holds the warehouse's write lock (the next queued run, say)
waits in a spool file beside the warehouse, and the next writer moves it into meta.alerts."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)
SLACK_ENV = "SHOPFLOW_SLACK_WEBHOOK_URL"


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | quality_check
    run_id: str
    job_name: str
    partitions: str
    summary: str
    asset_key: str | None = None
    raised_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def text(self) -> str:
        where = f" {self.asset_key}" if self.asset_key else ""
        return f":rotating_light: ShopFlow {self.kind}{where} in {self.job_name} [{self.partitions}] (run {self.run_id}): {self.summary}"


def record(con: duckdb.DuckDBPyConnection, alert: Alert) -> None:
    from shopflow_assets.warehouse.schema import ensure_schema

    ensure_schema(con)
    con.execute(
        "INSERT INTO meta.alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            alert.raised_at,
            alert.kind,
            alert.run_id,
            alert.job_name,
            alert.partitions,
            alert.asset_key,
            alert.summary,
        ],
    )


def spool_path(database: Path) -> Path:
    return database.with_name(database.name + ".alerts.jsonl")


def spool(database: Path, alert: Alert) -> None:
    with spool_path(database).open("a") as fh:
        fh.write(json.dumps({**asdict(alert), "raised_at": alert.raised_at.isoformat()}) + "\n")


def drain_spool(con: duckdb.DuckDBPyConnection, database: Path) -> int:
    """Move alerts spooled while the warehouse was locked into meta.alerts; cheap when there are none."""
    path = spool_path(database)
    if not path.exists():
        return 0
    taken = path.with_name(path.name + f".{os.getpid()}")
    path.replace(taken)  # alerts raised meanwhile start a fresh spool
    alerts = [json.loads(line) for line in taken.read_text().splitlines() if line.strip()]
    for a in alerts:
        record(con, Alert(**{**a, "raised_at": datetime.fromisoformat(a["raised_at"])}))
    taken.unlink()
    return len(alerts)


def post_to_slack(alert: Alert, url: str | None = None, timeout: float = 5.0) -> bool:
    url = url or os.environ.get(SLACK_ENV)
    if not url:
        return False
    body = json.dumps(
        {"text": alert.text(), "shopflow": {k: str(v) for k, v in asdict(alert).items()}}
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except Exception as exc:  # an alert channel must never take the pipeline down
        log.warning("could not post alert to Slack: %s", exc)
        return False


def partitions_of(tags: dict[str, str]) -> str:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    return f"{start}...{end}" if start else ""
