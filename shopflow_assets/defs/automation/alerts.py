"""Alerts: every failed run, and every failed blocking check in it, becomes one row in meta.alerts and,
when SHOPFLOW_SLACK_WEBHOOK_URL is set, a Slack post. Assets never write alerts: the daemon's
`alert_on_run_failure` sensor raises them all. Posting is best effort: a failed post is logged,
never raised.

The webhook URL is a secret (its path is the credential). It is read and validated in one place,
`slack_webhook()`, and never appears in an exception, a log line or metadata: a malformed value
turns Slack off with one warning that names the variable, not its value.

It is a plain sensor over the instance's event log, not a `run_failure_sensor`: a run-status sensor
manages its cursor itself and advances it past a run whatever happened, so it could not keep an
alert it failed to record. Here the cursor is JSON, `{"after": <storage id of the last RUN_FAILURE
seen>, "pending": [<alerts posted but not recorded yet>]}`: while a run holds the warehouse's write
lock, alerts wait in `pending` (already posted to Slack, so never posted twice) and are recorded on a
later tick. `record` is idempotent, so a tick that is retried files nothing twice.

A failed blocking check (severity ERROR) always fails its run, so the run's own events give its
check alerts: one per check and asset, naming the failed partitions. The event log holds every run
of the instance whatever its code location, so runs started with `dagster asset materialize -m
shopflow_assets.definitions` (a location named after the module, not the workspace's `shopflow`
location the daemon evaluates this sensor in) are alerted too.
"""

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
from datetime import UTC, date, datetime

import dagster as dg
import duckdb

from shopflow_assets.lib.partitions import partition_label, partitions_of
from shopflow_assets.lib.warehouse import WarehouseLockedError, WarehouseResource

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
    from shopflow_assets.lib.schema import ensure_schema

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


SENSOR_NAME = "alert_on_run_failure"
LOCK_TIMEOUT_SECONDS = 5.0  # a tick must end well within the daemon's sensor timeout
FETCH_LIMIT = 20  # failed runs per tick; the rest on the next ones
SUMMARY_LIMIT = 2000


@dataclass
class AlertCursor:
    after: int
    pending: list[Alert] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> AlertCursor | None:
        """None before the first tick. A run_failure_sensor's cursor (this sensor's former self)
        carries on from its last record id."""
        if not raw:
            return None
        data = json.loads(raw)
        if "after" not in data:
            return cls(int(data["record_id"])) if "record_id" in data else None
        return cls(int(data["after"]), [from_json(a) for a in data.get("pending", [])])

    def dump(self) -> str:
        return json.dumps({"after": self.after, "pending": [to_json(a) for a in self.pending]})


def _latest_failure_id(instance: dg.DagsterInstance) -> int:
    records = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=1).records
    return records[0].storage_id if records else -1


def _failures_after(instance: dg.DagsterInstance, after: int) -> Sequence[dg.EventLogRecord]:
    records_filter = dg.RunStatusChangeRecordsFilter(
        event_type=dg.DagsterEventType.RUN_FAILURE, after_storage_id=after
    )
    return instance.fetch_run_status_changes(records_filter, limit=FETCH_LIMIT, ascending=True).records


def _partitions(keys: set[str | None], run_partitions: str) -> str:
    """Failed partitions as alerts name them: consecutive days as a range, else a list."""
    if None in keys or not keys:
        return run_partitions
    try:
        days = sorted(date.fromisoformat(k) for k in keys if k)
    except ValueError:
        return ", ".join(sorted(k for k in keys if k))
    if (days[-1] - days[0]).days == len(days) - 1:
        return partition_label(days[0], date.fromordinal(days[-1].toordinal() + 1))
    return ", ".join(d.isoformat() for d in days)


def _check_alerts(run: dg.DagsterRun, events: Sequence[dg.EventLogEntry], raised_at: datetime) -> list[Alert]:
    """One alert per (asset, check) that failed with severity ERROR in the run."""
    failed: dict[tuple[str, str], tuple[set[str | None], list[str]]] = {}
    evaluations = [
        e.dagster_event.asset_check_evaluation_data
        for e in events
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    for evaluation in evaluations:
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        keys, descriptions = failed.setdefault(
            (evaluation.asset_key.to_user_string(), evaluation.check_name), (set(), [])
        )
        keys.add(evaluation.partition)
        if evaluation.description and evaluation.description not in descriptions:
            descriptions.append(evaluation.description)
    run_partitions = partitions_of(dict(run.tags))
    return [
        Alert(
            kind="quality_check",
            run_id=run.run_id,
            job_name=run.job_name,
            partitions=_partitions(keys, run_partitions),
            asset_key=asset,
            summary=f"{check}: {'; '.join(descriptions) or 'failed'}"[:SUMMARY_LIMIT],
            raised_at=raised_at,
        )
        for (asset, check), (keys, descriptions) in failed.items()
    ]


def _run_summary(events: Sequence[dg.EventLogEntry], failure: dg.EventLogEntry) -> str:
    errors = [
        f"{e.dagster_event.step_key}: {e.dagster_event.event_specific_data.error.message.strip().splitlines()[0]}"
        for e in events
        if e.dagster_event
        and e.dagster_event.event_type == dg.DagsterEventType.STEP_FAILURE
        and e.dagster_event.event_specific_data
        and e.dagster_event.event_specific_data.error
    ]
    message = failure.dagster_event.message if failure.dagster_event else None
    return ("; ".join(errors) or message or "run failed")[:SUMMARY_LIMIT]


def alerts_for(instance: dg.DagsterInstance, failure: dg.EventLogRecord) -> list[Alert]:
    """The run-failure alert of a failed run, then one per blocking check that failed in it."""
    entry = failure.event_log_entry
    raised_at = datetime.fromtimestamp(entry.timestamp, UTC).replace(tzinfo=None)
    run = instance.get_run_by_id(entry.run_id)
    if run is None:  # deleted since: what the event itself says
        job = entry.dagster_event.job_name if entry.dagster_event else ""
        return [
            Alert("run_failure", entry.run_id, job or "", "", _run_summary([], entry), raised_at=raised_at)
        ]
    events = instance.all_logs(
        run.run_id,
        of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION},
    )
    run_failure = Alert(
        kind="run_failure", run_id=run.run_id, job_name=run.job_name,
        partitions=partitions_of(dict(run.tags)), summary=_run_summary(events, entry), raised_at=raised_at,
    )  # fmt: skip
    return [run_failure, *_check_alerts(run, events, raised_at)]


def _file(context: dg.SensorEvaluationContext, warehouse: WarehouseResource, alerts: list[Alert]) -> bool:
    """Record the alerts; False (they stay pending) while a run holds the warehouse or it fails."""
    try:
        with warehouse.connect(lock_timeout=LOCK_TIMEOUT_SECONDS) as con:
            record(con, alerts)
        return True
    except WarehouseLockedError:
        context.log.info(
            f"warehouse locked by a running writer: {len(alerts)} alert(s) wait for the next tick"
        )
    except Exception as exc:  # a broken warehouse must not re-post the same alerts every tick
        context.log.error(f"could not record {len(alerts)} alert(s), kept for the next tick: {exc}")
    return False


@dg.sensor(
    name=SENSOR_NAME,
    description="Records every failed run, and each failed blocking check in it, in meta.alerts and posts "
    "them to SHOPFLOW_SLACK_WEBHOOK_URL when set. Alerts wait in the cursor while a run holds the warehouse.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
)
def alert_on_run_failure(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    cursor = AlertCursor.parse(context.cursor)
    if cursor is None:  # failures from before the sensor's first tick are not its business
        start = AlertCursor(_latest_failure_id(context.instance))
        return dg.SensorResult(skip_reason=f"started after record {start.after}", cursor=start.dump())
    failures = _failures_after(context.instance, cursor.after)
    new = [alert for failure in failures for alert in alerts_for(context.instance, failure)]
    for alert in new:
        post_to_slack(alert)  # once, when first seen: it must not depend on the warehouse being free
    pending = [*cursor.pending, *new]
    filed = bool(pending) and _file(context, warehouse, pending)
    after = failures[-1].storage_id if failures else cursor.after
    next_cursor = AlertCursor(after, [] if filed else pending)
    summary = f"{len(new)} new alert(s); {len(pending) if filed else 0} recorded, {len(next_cursor.pending)} pending"
    return dg.SensorResult(skip_reason=summary, cursor=next_cursor.dump())
