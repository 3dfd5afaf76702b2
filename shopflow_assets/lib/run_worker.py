"""Who executes a run: the run worker records its identity so a dead worker can be told from a slow one.

Dagster's run monitoring asks the run launcher whether a run's worker is alive, but the
DefaultRunLauncher cannot answer (`supports_check_run_worker_health` is False), and a run started by
`dagster asset materialize` executes in the CLI process, which no launcher knows. So every run of
this code location starts with one engine event naming its worker process: host, machine id, boot
id, pid namespace, pid and the process's start time in clock ticks since boot. A pid alone is not an
identity (pids are reused, and mean nothing on another host, after a reboot or in another
container); the whole tuple is, and `worker_alive` checks it against /proc. The reaper sensor
(sensors/reaper.py) uses it to fail runs whose worker is gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.in_process import InProcessExecutor

WORKER_EVENT = "ShopFlow run worker"  # the engine event's message starts with this


@dataclass(frozen=True)
class WorkerIdentity:
    host: str
    machine_id: str  # /etc/machine-id: stable across reboots, "" when the system has none
    boot_id: str  # changes at every boot: a worker of an earlier boot is dead
    pid_namespace: str  # a pid means something only inside its namespace (container)
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: tells a reused pid from the original

    def as_metadata(self) -> dict[str, str]:
        return {f"worker_{k}": str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, object]) -> WorkerIdentity | None:
        try:
            values = {k: _text(metadata[f"worker_{k}"]) for k in cls.__dataclass_fields__}
            return cls(**{**values, "pid": int(values["pid"]), "start_ticks": int(values["start_ticks"])})
        except (KeyError, ValueError):
            return None


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start ticks) of a live process, None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def identity_of(pid: int) -> WorkerIdentity | None:
    """The identity of a process of this host, None if it does not exist or there is no /proc
    (not Linux): such workers are never reaped."""
    stat = _stat(pid) if Path("/proc/self/stat").exists() else None
    if stat is None:
        return None
    return WorkerIdentity(
        host=socket.gethostname(),
        machine_id=_read("/etc/machine-id"),
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        pid_namespace=_pid_namespace(),
        pid=pid,
        start_ticks=stat[1],
    )


def current_identity() -> WorkerIdentity | None:
    return identity_of(os.getpid())


def worker_alive(worker: WorkerIdentity, here: WorkerIdentity | None = None) -> bool | None:
    """True: the worker runs. False: it is certainly gone. None: this process cannot tell (another
    host or container, or no /proc), so the caller must leave the run alone."""
    here = here or current_identity()
    if here is None or worker.host != here.host or worker.machine_id != here.machine_id:
        return None
    if worker.boot_id != here.boot_id:  # same machine, rebooted since (needs a machine id to be sure)
        return False if here.machine_id else None
    if worker.pid_namespace != here.pid_namespace:
        return None
    stat = _stat(worker.pid)
    if stat is None:
        return False
    state, start_ticks = stat
    return start_ticks == worker.start_ticks and state not in ("Z", "X")  # zombie or dead: gone


class IdentifiedInProcessExecutor(InProcessExecutor):
    """Dagster's in-process executor, recording the worker's identity before the first step."""

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        identity = current_identity()
        if identity is not None:
            yield DagsterEvent.engine_event(
                plan_context,
                f"{WORKER_EVENT}: pid {identity.pid} on {identity.host}",
                event_specific_data=EngineEventData(metadata=identity.as_metadata()),
            )
        yield from super().execute(plan_context, execution_plan)


@dg.executor(name="in_process", config_schema=IN_PROC_CONFIG)
def shopflow_executor(init_context: dg.InitExecutorContext) -> IdentifiedInProcessExecutor:
    """`in_process` with the same config; every step runs in the run worker (one DuckDB writer)."""
    config = init_context.executor_config
    return IdentifiedInProcessExecutor(
        retries=RetryMode.from_config(config["retries"]),
        step_dependency_config=StepDependencyConfig.from_config(config.get("step_dependency_config")),
    )
