"""Alerts: one row per failure in meta.alerts and, when SHOPFLOW_SLACK_WEBHOOK_URL is set, the same
message posted to Slack. Posting is best effort: a failed post is logged, never raised.

The webhook URL is a secret (its path is the credential). It is read and validated in one place,
`slack_webhook()`, and never appears in an exception, a log line or metadata: a malformed value
turns Slack off with one warning that names the variable, not its value.

Alerts are raised by the daemon's `alert_on_run_failure` sensor, never by assets: while another
process holds the warehouse's write lock, the sensor keeps them in its cursor and records them on a
later tick. `record` is idempotent, so an alert filed twice (a tick retried) is still one row."""

from __future__ import annotations

import functools
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

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


def record(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert]) -> int:
    """Insert the alerts not recorded yet, in one transaction; the number inserted. An alert is the same
    when kind, run, asset, partitions and summary are (the summary names the check)."""
    from shopflow_assets.warehouse.schema import ensure_schema

    ensure_schema(con)
    if not alerts:
        return 0
    (before,) = con.execute("SELECT count(*) FROM meta.alerts").fetchone()
    con.begin()
    con.executemany(
        """INSERT INTO meta.alerts
        SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (
            SELECT 1 FROM meta.alerts WHERE kind = $2 AND run_id IS NOT DISTINCT FROM $3
            AND partitions IS NOT DISTINCT FROM $5 AND asset_key IS NOT DISTINCT FROM $6 AND summary = $7)""",
        [[a.raised_at, a.kind, a.run_id, a.job_name, a.partitions, a.asset_key, a.summary] for a in alerts],
    )
    con.commit()
    (after,) = con.execute("SELECT count(*) FROM meta.alerts").fetchone()
    return after - before


def to_json(alert: Alert) -> dict:
    return {**asdict(alert), "raised_at": alert.raised_at.isoformat()}


def from_json(data: dict) -> Alert:
    return Alert(**{**data, "raised_at": datetime.fromisoformat(data["raised_at"])})


class SlackWebhookError(ValueError):
    """SHOPFLOW_SLACK_WEBHOOK_URL is set but is not a usable URL (the message never holds the value)."""


def validate_webhook(url: str) -> str:
    """The URL if it is http(s) with a host; else SlackWebhookError saying what is wrong, not what it was."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise SlackWebhookError(f"{SLACK_ENV} is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise SlackWebhookError(
            f"{SLACK_ENV} must start with https:// (e.g. https://hooks.slack.com/services/...); "
            + ("it has no scheme" if not parts.scheme else "its scheme is not http or https")
        )
    if not parts.hostname or not port_ok:
        raise SlackWebhookError(f"{SLACK_ENV} has no host (or an invalid port)")
    return url.strip()


@functools.cache
def _checked(url: str) -> str | None:
    """Validate each distinct value once per process; a bad one logs one warning and turns Slack off."""
    try:
        return validate_webhook(url)
    except SlackWebhookError as exc:
        log.warning("Slack alerts are off: %s. Alerts are still recorded in meta.alerts.", exc)
        return None


def slack_webhook(url: str | None = None) -> str | None:
    """The validated webhook URL (explicit, else $SHOPFLOW_SLACK_WEBHOOK_URL), or None when unset or invalid."""
    raw = (url if url is not None else os.environ.get(SLACK_ENV, "")).strip()
    return _checked(raw) if raw else None


def _scrub(text: str, url: str) -> str:
    """`text` without the URL or any part of it that could carry the secret (host, path, segments)."""
    parts = urllib.parse.urlsplit(url)
    secrets = [url, parts.netloc + parts.path, parts.path, *parts.path.split("/"), parts.query, parts.netloc]
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "<webhook>")
    return text


def _describe(exc: BaseException, url: str) -> str:
    """Why a post failed, in words that cannot contain the URL (urllib's messages sometimes do)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, OSError) and reason.strerror:
        return _scrub(reason.strerror, url)
    return _scrub(f"{type(reason).__name__}: {reason}", url)


def post_to_slack(alert: Alert, url: str | None = None, timeout: float = 5.0) -> bool:
    """Best effort: True when Slack accepted the message; never raises, never logs the URL."""
    webhook = None
    try:
        webhook = slack_webhook(url)
        if webhook is None:
            return False
        body = json.dumps(
            {"text": alert.text(), "shopflow": {k: str(v) for k, v in asdict(alert).items()}}
        ).encode()
        request = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except Exception as exc:  # an alert channel must never take the pipeline down
        log.warning("could not post alert to Slack: %s", _describe(exc, webhook or url or ""))
        return False


def partition_label(start: date, end_exclusive: date) -> str:
    """The partitions of [start, end_exclusive) as alerts name them: one day as `2024-01-05`, a range
    inclusively as `2024-01-01...2024-01-02`, Dagster's own partition-range syntax (and the run tags')."""
    last = end_exclusive - timedelta(days=1)
    return start.isoformat() if last <= start else f"{start.isoformat()}...{last.isoformat()}"


def partitions_of(tags: dict[str, str]) -> str:
    """A run's partitions from its tags, labelled like `partition_label`."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    if not start:
        return ""
    try:
        return partition_label(
            date.fromisoformat(start), date.fromisoformat(end or start) + timedelta(days=1)
        )
    except ValueError:  # not daily keys: keep Dagster's own range syntax
        return f"{start}...{end}"
