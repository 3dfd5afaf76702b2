"""The alert sensor: every failed run, and every failed blocking check in it, becomes a row in
meta.alerts and a Slack post. Assets never write alerts.

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

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from shopflow_assets.alerts import (
    Alert,
    from_json,
    partition_label,
    partitions_of,
    post_to_slack,
    record,
    to_json,
)
from shopflow_assets.resources import WarehouseLockedError, WarehouseResource

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
