"""The run queue never jams: dead run workers are told from slow ones, and a fresh instance is
initialised before anything runs concurrently.

Real processes throughout: `sleep` children for the identity check, the real `dagster asset
materialize` CLI killed with SIGKILL for the reaper, four concurrent CLI runs for the storage race.
The daemon-driven version (the reaper running by default, the queue going on) is in test_e2e_daemon.py.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.defs.automation.reaper import reap_dead_runs, recorded_worker
from shopflow_assets.lib.run_worker import WorkerIdentity, identity_of, worker_alive
from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import INSTANCE_CONFIG

BIN = Path(sys.executable).parent
STORAGE_DBS = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")
RACE_MARKERS = ("alembic_version", "already exists")


def _materialize(env: dict[str, str], partition: str, log: Path) -> subprocess.Popen:
    """A real CLI run of one cheap asset, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "shopflow_assets.definitions",
             "--select", "bronze/orders", "--partition", partition],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _env(home: Path, landing: Path, warehouse: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "SHOPFLOW_LANDING_DIR": str(landing),
            "SHOPFLOW_DUCKDB_PATH": str(warehouse)}  # fmt: skip


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------------------------
# The worker identity: pid, host, boot, namespace and start time, so a reused pid is not "alive".
# --------------------------------------------------------------------------------------------


def test_identity_tells_a_live_worker_from_a_dead_one_and_from_a_reused_pid(
    sleeper: subprocess.Popen,
) -> None:
    worker = identity_of(sleeper.pid)
    assert worker is not None and worker.pid == sleeper.pid
    assert worker == WorkerIdentity.from_metadata(worker.as_metadata())  # as recorded in the event log
    assert worker_alive(worker) is True

    # another process that got the same pid later has another start time: the worker is gone
    assert worker_alive(dataclasses.replace(worker, start_ticks=worker.start_ticks - 1)) is False
    # the same machine booted since: gone; another host or container: this host cannot tell
    assert worker_alive(dataclasses.replace(worker, boot_id="an-earlier-boot")) is False
    assert worker_alive(dataclasses.replace(worker, host="elsewhere")) is None
    assert worker_alive(dataclasses.replace(worker, pid_namespace="pid:[1]")) is None

    sleeper.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while identity_of(sleeper.pid) is not None and _state(sleeper.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_alive(worker) is False  # killed, not yet waited for: a zombie is not a worker
    sleeper.wait()
    assert worker_alive(worker) is False  # and once it is gone for good


def _state(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return text[text.rfind(")") + 2 :].split()[0]


# --------------------------------------------------------------------------------------------
# The reaper against a real CLI run: slow is left alone, SIGKILLed is failed (once).
# --------------------------------------------------------------------------------------------


def _evaluate(instance: dg.DagsterInstance, cursor: str | None) -> tuple[str, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = reap_dead_runs(context)
    return result.skip_message or "", context.cursor


def _failures(instance: dg.DagsterInstance, run_id: str) -> list[dg.EventLogEntry]:
    return list(instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE))


def test_reaper_fails_a_killed_cli_run_and_never_a_slow_one(
    dagster_home: Path, landing: Path, warehouse: Path, tmp_path: Path
) -> None:
    env = _env(dagster_home, landing, warehouse)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        with connect(warehouse):  # holds DuckDB's write lock: the run waits for it, a merely slow run
            cli = _materialize(env, "2024-01-02", tmp_path / "cli.log")
            try:
                deadline = time.monotonic() + 60
                while not (runs := instance.get_runs()) or recorded_worker(instance, runs[0].run_id) is None:
                    assert cli.poll() is None, (tmp_path / "cli.log").read_text()[-3000:]
                    assert time.monotonic() < deadline, "the CLI run never recorded its worker"
                    time.sleep(0.2)
                (run,) = runs
                worker = recorded_worker(instance, run.run_id)
                assert worker is not None and worker.pid == cli.pid  # a CLI run executes in the CLI process

                cursor = None
                for _ in range(3):  # slow, alive: never a suspect, however often the reaper looks
                    message, cursor = _evaluate(instance, cursor)
                    assert cursor == "[]", message
                assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED

                cli.send_signal(signal.SIGKILL)
                cli.wait(timeout=30)
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # nobody else sees it

        message, cursor = _evaluate(instance, cursor)  # first sighting: a suspect
        assert cursor == f'["{run.run_id}"]', message
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        message, cursor = _evaluate(instance, cursor)  # second sighting: failed
        assert message.startswith(f"failed 1 run(s) whose worker is gone ({run.run_id})"), message
        assert cursor == "[]"
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE

        (failure,) = _failures(instance, run.run_id)
        assert f"pid {cli.pid} on {worker.host}" in failure.dagster_event.message
        assert failure.dagster_event.event_specific_data.failure_reason.value == "UNEXPECTED_TERMINATION"
        _evaluate(instance, cursor)
        assert len(_failures(instance, run.run_id)) == 1  # a finished run is never reported again


# --------------------------------------------------------------------------------------------
# A brand-new instance: four concurrent CLI runs race its schema unless it is initialised first.
# --------------------------------------------------------------------------------------------


def _four_concurrent_runs(home: Path, landing: Path, tmp_path: Path) -> list[tuple[int, str]]:
    """Four CLI runs at once (each on its own warehouse file), their exit codes and output."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    procs = []
    for day in range(1, 5):
        env = _env(home, landing, tmp_path / f"warehouse{day}.duckdb")
        procs.append((_materialize(env, f"2024-01-0{day}", tmp_path / f"run{day}.log"), day))
    results = []
    for proc, day in procs:
        proc.wait(timeout=300)
        results.append((proc.returncode, (tmp_path / f"run{day}.log").read_text(errors="replace")))
    return results


def _alembic_heads(home: Path) -> dict[str, int]:
    out = {}
    for name in STORAGE_DBS:
        with sqlite3.connect(home / name) as db:
            out[name] = db.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
    return out


def test_four_cli_runs_at_once_succeed_on_a_fresh_instance_initialised_first(
    landing: Path, tmp_path: Path
) -> None:
    # Without the initialisation this races the SQLite schema on most attempts: processes creating and
    # stamping the same new database at once fail on "table runs already exists", "UNIQUE constraint
    # failed: alembic_version.version_num" or "Online migration expected to match one row ... in
    # 'alembic_version'", or stamp it twice ("Version table 'alembic_version' has more than one head
    # present"), after which every later run on the instance fails. The failures, when they happen
    # (the race depends on timing), are only that race.
    raw = tmp_path / "raw_home"
    raw.mkdir()
    (raw / "dagster.yaml").write_text(INSTANCE_CONFIG)
    raced = [out for code, out in _four_concurrent_runs(raw, landing, tmp_path / "raw") if code != 0]
    assert all(any(m in out for m in RACE_MARKERS) for out in raced), [out[-2000:] for out in raced]
    print(f"uninitialised fresh instance: {len(raced)} of 4 concurrent runs failed on the schema race")

    # The fix: initialise once (what `make instance` runs), then the same four runs all succeed.
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_CONFIG)
    init = subprocess.run(
        [str(BIN / "dagster"), "instance", "concurrency", "set", "duckdb_writer", "1"],
        env=_env(home, landing, tmp_path / "unused.duckdb"), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert _alembic_heads(home) == dict.fromkeys(STORAGE_DBS, 1)  # created and stamped once

    results = _four_concurrent_runs(home, landing, tmp_path / "initialised")
    assert [code for code, _ in results] == [0, 0, 0, 0], [out[-2000:] for code, out in results if code]
    assert _alembic_heads(home) == dict.fromkeys(STORAGE_DBS, 1)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.tags["dagster/partition"] for r in runs) == [f"2024-01-0{d}" for d in range(1, 5)]
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
