"""Alerts: one row per failure in meta.alerts and, when SHOPFLOW_SLACK_WEBHOOK_URL is set, the same
message posted to Slack. Posting is best effort: a failed post is logged, never raised."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

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
