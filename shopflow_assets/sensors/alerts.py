"""The run-failure sensor: every failed run becomes a row in meta.alerts (and a Slack post).

It watches every run in the instance, not only runs of its own code location: a run started with
`dagster asset materialize -m shopflow_assets.definitions` belongs to a location named after the
module (or to none), not to the workspace's `shopflow` location the daemon evaluates this sensor in,
so a sensor scoped to its own location would never see it.
"""

import dagster as dg

from shopflow_assets.alerts import Alert, drain_spool, partitions_of, post_to_slack, record, spool
from shopflow_assets.resources import WarehouseLockedError, WarehouseResource


def _summary(context: dg.RunFailureSensorContext) -> str:
    errors = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip().splitlines()[0]}"
        for event in context.get_step_failure_events()
        if event.event_specific_data and event.event_specific_data.error
    ]
    return "; ".join(errors) or (context.failure_event.message or "run failed")


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    description="Records every failed run in meta.alerts and posts it to SHOPFLOW_SLACK_WEBHOOK_URL when set.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    monitor_all_code_locations=True,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    alert = Alert(
        kind="run_failure",
        run_id=run.run_id,
        job_name=run.job_name,
        partitions=partitions_of(dict(run.tags)),
        summary=_summary(context)[:2000],
    )
    post_to_slack(alert)  # first: it must not depend on the warehouse being free
    try:
        with warehouse.connect(lock_timeout=10) as con:
            drain_spool(con, warehouse.database)
            record(con, alert)
    except WarehouseLockedError:  # the next queued run holds it: the next writer files the alert
        spool(warehouse.database, alert)
    context.log.info(f"alert recorded for run {run.run_id}")
