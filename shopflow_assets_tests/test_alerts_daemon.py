"""Failed CLI runs under a real `dagster-daemon`: every one is alerted once, and a webhook URL that is
malformed or unreachable never leaks.

One short daemon (the workspace's `shopflow` location, as `make dev` runs it) with the alert sensor
on, and a webhook URL without a scheme. Two `dagster asset materialize -m ...` runs fail on a
blocking silver check: the first with the malformed URL, the second with an unreachable one. Each
must leave exactly one quality_check alert and one run_failure alert, both written by the daemon's
sensor (the run itself writes none), although the CLI's runs belong to another code location; no
spool file appears beside the warehouse; and the secret part of the URL must appear in no file under
DAGSTER_HOME (SQLite included, as bytes), the warehouse, the daemon's log or the CLI's output.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from shopflow_assets.defs.automation.alerts import SLACK_ENV
from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import order_line, write_csv
from shopflow_assets_tests.test_e2e_daemon import BIN, REPO, _dagster_env, _kill_group, _write_instance_config

SECRET = "SECRET456"
MALFORMED_URL = f"hooks.slack.com/services/T000/B000/{SECRET}"  # no scheme
UNREACHABLE_URL = f"http://127.0.0.1:9/services/T000/B000/{SECRET}"  # nothing listens on port 9
SENSOR = "alert_on_run_failure"


@dataclass
class Daemon:
    root: Path
    home: Path
    landing: Path
    warehouse: Path
    log: Path
    env: dict[str, str]
    process: subprocess.Popen
    instance: dg.DagsterInstance

    def ticks(self) -> list:
        return [
            tick
            for state in self.instance.all_instigator_state()
            if state.instigator_name == SENSOR
            for tick in self.instance.get_ticks(state.instigator_origin_id, state.selector_id)
        ]

    def wait_for(self, what: str, condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() >= deadline:
                tail = self.log.read_text(errors="replace").splitlines()[-40:]
                pytest.fail(f"gave up waiting for {what}; daemon log tail:\n" + "\n".join(tail))
            time.sleep(0.5)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("alerts_daemon")
    home, landing, warehouse = root / "dagster_home", root / "landing", root / "warehouse" / "shopflow.duckdb"
    landing.mkdir()
    _write_instance_config(home)
    rules = yaml.safe_load((REPO / "shopflow_assets" / "quality" / "rules.yaml").read_text())
    rules["tables"]["orders"]["customer_id_not_null"]["action"] = "flag"  # kept in silver: a blocking failure
    (root / "rules.yaml").write_text(yaml.safe_dump(rules))
    workspace = root / "workspace.yaml"
    location = {"module_name": "shopflow_assets.definitions", "location_name": "shopflow",
                "working_directory": str(REPO)}  # fmt: skip
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    env = {
        **_dagster_env(home, landing, warehouse),
        "SHOPFLOW_QUALITY_RULES": str(root / "rules.yaml"),
        SLACK_ENV: MALFORMED_URL,
    }
    instance = dg.DagsterInstance.from_config(str(home))  # create the storage before any subprocess
    log = home / "daemon.log"  # under DAGSTER_HOME, so the leak check reads it too
    process = None
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        platform = Daemon(root, home, landing, warehouse, log, env, process, instance)
        # The sensor's first tick only sets its cursor: runs that fail before it are not its business.
        platform.wait_for(f"the first tick of {SENSOR}", lambda: bool(platform.ticks()), timeout=60)
        yield platform
    finally:
        if process is not None:
            _kill_group(process)
        instance.dispose()


def _failing_cli_run(daemon: Daemon, day: str, url: str) -> str:
    """`dagster asset materialize` of a day whose orders break a blocking check; returns its output."""
    write_csv(
        daemon.landing / "orders" / f"orders_{day}.csv", [order_line(f"{day}-1", day=day, customer_id="")]
    )
    proc = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "shopflow_assets.definitions",
         "--select", "bronze/orders*", "--partition", day],
        cwd=daemon.root, env={**daemon.env, SLACK_ENV: url}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode != 0, "the run was meant to fail on the blocking check"
    return proc.stdout + proc.stderr


def _alerts(warehouse: Path) -> list[tuple]:
    with connect(warehouse, read_only=True, lock_timeout=30) as con:
        return con.execute("SELECT kind, run_id, asset_key, partitions FROM meta.alerts").fetchall()


def test_failed_cli_runs_are_alerted_once_and_the_webhook_secret_leaks_nowhere(daemon: Daemon) -> None:
    outputs = [
        _failing_cli_run(daemon, "2024-01-05", MALFORMED_URL),
        _failing_cli_run(daemon, "2024-01-06", UNREACHABLE_URL),
    ]
    runs = {r.tags.get("dagster/partition"): r for r in daemon.instance.get_runs()}
    assert sorted(runs) == ["2024-01-05", "2024-01-06"], [(r.job_name, r.tags) for r in runs.values()]
    assert all(r.status == dg.DagsterRunStatus.FAILURE for r in runs.values())
    for run in runs.values():  # the alert channel failing is no reason to retry the step
        assert not daemon.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)

    daemon.wait_for("four alerts", lambda: len(_alerts(daemon.warehouse)) >= 4, timeout=60)
    time.sleep(12)  # one more tick (10 s apart): it must add nothing
    alerts = _alerts(daemon.warehouse)
    assert len(alerts) == 4, alerts
    assert sorted(
        (kind, run_id, asset, partitions)
        for kind, run_id, asset, partitions in alerts
        if kind == "quality_check"
    ) == sorted(("quality_check", run.run_id, "silver/orders", day) for day, run in runs.items())
    assert sorted(
        (kind, run_id, partitions) for kind, run_id, asset, partitions in alerts if kind != "quality_check"
    ) == sorted(("run_failure", run.run_id, day) for day, run in runs.items())

    leaks = [o for o in outputs if SECRET in o]
    files = [p for p in [*daemon.home.rglob("*"), *daemon.warehouse.parent.rglob("*")] if p.is_file()]
    names = {
        p.name for p in files
    }  # runs, event logs, sensor ticks, captured stdout/stderr, the daemon's log
    assert {"runs.db", "schedules.db", "daemon.log", "shopflow.duckdb"} <= names, sorted(names)
    assert not [n for n in names if n.endswith(".jsonl")], sorted(names)  # no spool file
    assert any(p.suffix == ".err" for p in files), sorted(names)
    leaks += [str(p) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaks == []
