"""The run reaper: a STARTED run whose worker process is gone is marked failed, freeing its slot.

A run whose process dies (`kill -9`, the OOM killer, a reboot) never writes its end, so it stays
STARTED, keeps the `duckdb_writer` pool's one slot and counts against the queue's run limit, and the
daemon starts nothing else. Dagster's run monitoring (dagster.yaml) fails runs stuck STARTING or
CANCELING, and a code server notices its own run subprocess dying; but it cannot check the worker of
a STARTED run for the DefaultRunLauncher, nor see a `dagster asset materialize` CLI run at all.

This sensor (on by default) covers that: each run records its worker's identity when it starts
(run_worker.py), and a STARTED run whose worker is certainly gone on two consecutive ticks is
reported failed through the instance, like Dagster's own monitoring does. A run whose worker is
alive is never touched however long it takes, nor one whose worker this host cannot check
(another host or container) or that recorded no identity.
"""

from __future__ import annotations

import json
import os

import dagster as dg
from dagster._core.events import JobFailureData, RunFailureReason

from shopflow_assets.lib.run_worker import WORKER_EVENT, WorkerIdentity, current_identity, worker_alive

# How often the reaper looks (seconds). A dead run is failed on its second sighting: within two intervals.
INTERVAL_SECONDS = int(os.environ.get("SHOPFLOW_REAPER_INTERVAL_SECONDS", "30"))


def recorded_worker(instance: dg.DagsterInstance, run_id: str) -> WorkerIdentity | None:
    """The identity the run's worker recorded at start (the latest one, should there be several)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, ascending=False
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event and event.message and event.message.startswith(WORKER_EVENT):
            return WorkerIdentity.from_metadata(dict(event.engine_event_data.metadata))
    return None


def dead_runs(instance: dg.DagsterInstance) -> dict[str, WorkerIdentity]:
    """STARTED runs whose recorded worker is certainly not running, by run id."""
    here = current_identity()
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    out = {}
    for record in records:
        worker = recorded_worker(instance, record.dagster_run.run_id)
        if worker is not None and worker_alive(worker, here) is False:
            out[record.dagster_run.run_id] = worker
    return out


def fail_run(instance: dg.DagsterInstance, run_id: str, worker: WorkerIdentity) -> bool:
    """Mark one run failed (if it still is STARTED) and free any pool slots it claimed."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status != dg.DagsterRunStatus.STARTED:
        return False
    instance.report_run_failed(
        run,
        f"The run worker (pid {worker.pid} on {worker.host}) is gone: it was killed, ran out of memory "
        "or its machine restarted. Marked failed by reap_dead_runs so the run queue can go on.",
        JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
    )
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return True


@dg.sensor(
    name="reap_dead_runs",
    description="Marks failed a STARTED run whose worker process is gone (kill -9, OOM, reboot), "
    "so it frees its duckdb_writer slot and the queue goes on. Never touches a live run.",
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def reap_dead_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    suspects = set(json.loads(context.cursor)) if context.cursor else set()  # dead on the last tick
    dead = dead_runs(context.instance)
    confirmed = {run_id: worker for run_id, worker in dead.items() if run_id in suspects}
    reaped = [run_id for run_id, worker in confirmed.items() if fail_run(context.instance, run_id, worker)]
    for run_id in reaped:
        context.log.warning(f"run {run_id}: worker pid {dead[run_id].pid} is gone, marked failed")
    context.update_cursor(json.dumps(sorted(set(dead) - set(confirmed))))
    return dg.SkipReason(
        f"failed {len(reaped)} run(s) whose worker is gone ({', '.join(reaped) or '-'}); "
        f"{len(dead) - len(confirmed)} more to confirm on the next tick"
    )
