"""End to end with a real Dagster daemon: landing files in, sensor-launched runs, warehouse out.

The module starts `dagster-daemon run` against a temp DAGSTER_HOME (the repo's dagster.yaml, so the
real `duckdb_writer` pool limit), a temp landing folder and a temp warehouse, turns the file sensors
on with `dagster sensor start`, and then only drops files and watches what the daemon does:

0. (its own landing folder and two warehouses, through run config) ten bronze + silver day runs
   submitted to the run queue in shuffled order, then the stale_partitions sensor's rebuilds, give
   table for table the warehouse of one range run over the ten days;
1. three generated days of every source: one run per source and day, all succeed, bronze holds
   exactly the records of the files minus what the generator's manifest says bronze must reject,
   and gold's facts and daily sales hold every silver order;
2. a late orders file for the first day: exactly one new run, and only that day changes;
3. ten days of orders at once: ten queued runs that the pool runs one at a time, all successful;
4. a late products file: one run for its own day; the versions need no run for later days;
   a late price change for day 2: its run, then exactly the days gold records as stale are rebuilt,
   and every gold fact from day 2 on carries the new version and cost;
5. last: a `dagster asset materialize` CLI run, slowed down by a held DuckDB lock, is left alone
   while a sensor run waits behind it; killed with SIGKILL, it is marked failed by the
   `reap_dead_runs` sensor (on by default) within seconds, and the waiting run starts and succeeds.

Every wait is a bounded poll; on timeout the test fails with the run table, the sensors' last
ticks and the daemon's log tail. The daemon's process group is always killed at teardown.

The temp dagster.yaml is the repo's file verbatim plus `run_queue.dequeue_interval_seconds: 1`
(Dagster's default pass every 5 s would add 4 s to each of the ~30 queued runs). Step 1 warns,
without failing, when Dagster's very first run-queue pass on the fresh instance started several
writers together (the pool's default limit is stored during that pass but read before it).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.scheduler.instigation import InstigatorStatus

from shopflow_assets.defs.automation.reaper import recorded_worker
from shopflow_assets.generator import generate
from shopflow_assets.lib.warehouse import connect
from shopflow_assets.sources import SOURCES
from shopflow_assets_tests.conftest import materialize, order_line, write_csv

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SENSOR_TAG = "dagster/sensor_name"
AUTOMATION = "gold_marts_automation"  # rebuilds the all-time gold marts after their upstream changed
# A bound (not a cost) for one sensor run: bronze, silver and the three gold steps (each a dbt
# start-up of 6-10 s) take 30-40 s on a quiet 2-core machine and up to twice that when it is shared.
# Every sensor run here starts a run worker that loads the code location and runs bronze, silver and
# gold (three dbt processes): the module takes about 20 minutes on 2 cores, so `make test-slow` runs
# it, not `make test` (the sensors, alerts and reaper have in-process and CLI tests there).
pytestmark = pytest.mark.slow

RUN_SECONDS = 120
FILE_SENSORS = [f"{name}_files" for name in SOURCES]
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
PROBLEM_EVENTS = {
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_UP_FOR_RETRY,
    dg.DagsterEventType.RUN_FAILURE,
}

START = date(2024, 1, 1)
FIRST_DAYS = 3  # step 1: every source, three days
BURST_DAYS = 10  # step 3: orders only, the ten days after them
ORDERS_PER_DAY = 200
SEED = 7  # chosen so the generator's late orders file for START exists and carries no defect
LATE_PATH = f"orders/orders_{START.isoformat()}_late.csv"

# Bronze rows are compared without the columns that name the run; silver likewise.
BRONZE_VOLATILE = ("_run_id", "_ingested_at")
SILVER_VOLATILE = ("_run_id", "_processed_at")


def _days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


FIRST = _days(START, FIRST_DAYS)
BURST = _days(START + timedelta(days=FIRST_DAYS), BURST_DAYS)


# --------------------------------------------------------------------------------------------
# The platform under test: a temp instance, landing folder and warehouse, and a running daemon.
# --------------------------------------------------------------------------------------------


@dataclass
class Platform:
    root: Path
    home: Path
    landing: Path
    warehouse: Path
    daemon_log: Path
    daemon: subprocess.Popen
    instance: dg.DagsterInstance

    # -- runs -----------------------------------------------------------------------------------

    def sensor_runs(self) -> list[dg.DagsterRun]:
        """Runs the file sensors and stale_partitions started (the marts' automation sensor's runs
        come and go with its 30 s evaluations: `new_runs` covers them)."""
        return [r for r in self.instance.get_runs() if r.tags.get(SENSOR_TAG, AUTOMATION) != AUTOMATION]

    def run_ids(self) -> set[str]:
        return {r.run_id for r in self.instance.get_runs()}

    def new_runs(self, baseline: set[str]) -> list[dg.DagsterRun]:
        return [r for r in self.instance.get_runs() if r.run_id not in baseline]

    def new_sensor_runs(self, baseline: set[str]) -> list[dg.DagsterRun]:
        return [r for r in self.sensor_runs() if r.run_id not in baseline]

    def run_records(self, run_ids: list[str]) -> list[dg.RunRecord]:
        return list(self.instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids)))

    def problems(self, run: dg.DagsterRun) -> list[str]:
        """Step failures, retries and run failures of one run, with their error messages."""
        out = []
        for entry in self.instance.all_logs(run.run_id, of_type=PROBLEM_EVENTS):
            event = entry.dagster_event
            data = event.event_specific_data if event else None
            error = getattr(data, "error", None)
            message = error.message.strip().splitlines()[0] if error else (entry.user_message or "")
            out.append(f"{run.run_id[:8]} {event.event_type_value if event else '?'} {event and event.step_key}: "
                       f"{message}")  # fmt: skip
        return out

    # -- sensors ----------------------------------------------------------------------------------

    def ticks(self, sensor: str, after: float | None = None) -> list[Any]:
        states = [
            s for s in self.instance.all_instigator_state() if s.instigator_name == sensor
        ]  # one per sensor in this single-location instance
        ticks = []
        for state in states:
            ticks += self.instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
        return sorted(ticks, key=lambda t: t.timestamp)

    # -- diagnostics ------------------------------------------------------------------------------

    def diagnostics(self) -> str:
        lines = ["", "== runs =="]
        records = sorted(self.instance.get_run_records(), key=lambda r: r.create_timestamp)
        for rec in records:
            run = rec.dagster_run
            lines.append(
                f"{run.run_id[:8]} {run.tags.get(SENSOR_TAG, run.job_name):18} "
                f"{run.tags.get('dagster/partition', ''):10} {run.status.value:9} "
                f"created {rec.create_timestamp:%H:%M:%S} start {_clock(rec.start_time)} end {_clock(rec.end_time)}"
            )
            if run.status == dg.DagsterRunStatus.FAILURE:
                lines += ["    " + p for p in self.problems(run)]
        lines.append("== last ticks ==")
        for sensor in FILE_SENSORS:
            for tick in self.ticks(sensor)[-2:]:
                detail = tick.skip_reason or (tick.error.message if tick.error else "") or ""
                lines.append(f"{sensor:16} {_clock(tick.timestamp)} {tick.status.value:8} runs={len(tick.run_ids)} "
                             f"{detail[:200]}")  # fmt: skip
        alive = "running" if self.daemon.poll() is None else f"EXITED with {self.daemon.returncode}"
        lines.append(f"== daemon ({alive}), log tail ==")
        try:
            lines += self.daemon_log.read_text(errors="replace").splitlines()[-60:]
        except OSError as exc:
            lines.append(f"(no log: {exc})")
        return "\n".join(lines)

    # -- waiting -----------------------------------------------------------------------------------

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.daemon.poll() is not None:
                pytest.fail(f"the daemon died while waiting for {what}{self.diagnostics()}")
            if condition():
                return
            if time.monotonic() >= deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{self.diagnostics()}")
            time.sleep(every)

    def wait_for_runs(self, baseline: set[str], count: int, timeout: float, what: str) -> list[dg.DagsterRun]:
        """At least `count` new sensor runs, every one of them finished."""
        state: dict[str, list[dg.DagsterRun]] = {"runs": []}

        def done() -> bool:
            runs = self.new_sensor_runs(baseline)
            state["runs"] = runs
            return len(runs) >= count and all(r.status in TERMINAL for r in runs)

        self.wait_for(f"{count} finished sensor runs ({what})", done, timeout)
        return state["runs"]

    def wait_until_idle(self, timeout: float = 2 * RUN_SECONDS) -> None:
        self.wait_for(
            "no run in progress",
            lambda: all(r.status in TERMINAL for r in self.instance.get_runs()),
            timeout,
        )

    def wait_for_ticks(self, sensors: list[str], after: float, count: int, timeout: float) -> None:
        """`count` finished evaluations of each sensor that started after `after`."""

        def ticked() -> bool:
            return all(
                sum(1 for t in self.ticks(s, after=after) if t.status.value != "STARTED") >= count
                for s in sensors
            )

        self.wait_for(f"{count} more ticks of {', '.join(sensors)}", ticked, timeout)

    # -- warehouse ----------------------------------------------------------------------------------

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with connect(self.warehouse, read_only=True, lock_timeout=30) as con:
            return con.execute(sql, params or []).fetchall()

    def rows_by_day(self, table: str, volatile: tuple[str, ...], days: list[str]) -> dict[str, Counter]:
        """Each day's rows as a multiset, without the columns that change with every run."""
        with connect(self.warehouse, read_only=True, lock_timeout=30) as con:
            cursor = con.execute(
                f"SELECT _partition_date::VARCHAR AS day, * EXCLUDE ({', '.join(volatile)}) FROM {table} "
                "WHERE _partition_date::VARCHAR IN (SELECT unnest(?::VARCHAR[]))",
                [days],
            )
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        out: dict[str, Counter] = {d: Counter() for d in days}
        for row in rows:
            out[row[0]][tuple(zip(columns[1:], (repr(v) for v in row[1:]), strict=True))] += 1
        return out

    def counts_by_day(self, table: str) -> dict[str, int]:
        return dict(self.query(f"SELECT _partition_date::VARCHAR, count(*) FROM {table} GROUP BY 1"))


def _clock(timestamp: float | None) -> str:
    if not timestamp:
        return "--:--:--.-"
    return f"{time.strftime('%H:%M:%S', time.gmtime(timestamp))}.{int(timestamp * 10) % 10}"


def _dagster_env(home: Path, landing: Path, warehouse: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home),
        SHOPFLOW_LANDING_DIR=str(landing),
        SHOPFLOW_DUCKDB_PATH=str(warehouse),
        SHOPFLOW_SENSOR_INTERVAL_SECONDS="2",
        SHOPFLOW_REAPER_INTERVAL_SECONDS="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("SHOPFLOW_START_DATE", None)  # the default start (2024-01-01) is what the files use
    env.pop("SHOPFLOW_SLACK_WEBHOOK_URL", None)
    return env


def _write_instance_config(home: Path) -> None:
    """The repo's dagster.yaml as is (telemetry off, `duckdb_writer` pool: run granularity, limit 1),
    plus a faster run-queue pass so the test's queued runs do not wait 5 s each for dequeuing."""
    original = (REPO / ".dagster_home" / "dagster.yaml").read_text()
    config = yaml.safe_load(original)
    assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}, config
    assert "run_queue" not in config and "run_coordinator" not in config, config
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(
        original + "\n# test only\nrun_queue:\n  dequeue_interval_seconds: 1\n"
    )


def _kill_group(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM to the daemon's process group (daemon, code servers, run workers), SIGKILL if needed."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):  # what is left of the group (run workers, code servers)
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("e2e_daemon")
    home, landing, warehouse = root / "dagster_home", root / "landing", root / "warehouse" / "shopflow.duckdb"
    landing.mkdir()
    _write_instance_config(home)
    workspace = root / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "shopflow_assets.definitions",
                            "location_name": "shopflow",
                            "working_directory": str(REPO),
                        }
                    }
                ]
            }
        )
    )
    env = _dagster_env(home, landing, warehouse)
    # Create the instance's storage before any subprocess opens it: two processes initialising a
    # fresh SQLite instance at once can stamp its schema twice (alembic "more than one head").
    instance = dg.DagsterInstance.from_config(str(home))
    daemon: subprocess.Popen | None = None
    try:
        # Register the writer pool's limit up front, as `make dev` does: Dagster reads a pool's
        # default limit only once the pool exists, so without this the first batch could overlap.
        pool = subprocess.run(
            [str(BIN / "dagster"), "instance", "concurrency", "set", "duckdb_writer", "1"],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert pool.returncode == 0, f"dagster instance concurrency set failed:\n{pool.stdout}\n{pool.stderr}"
        # Turn the sensors on through Dagster, as an operator would (they default to STOPPED).
        started = subprocess.run(
            [str(BIN / "dagster"), "sensor", "start", "--start-all", "-w", str(workspace)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, f"dagster sensor start failed:\n{started.stdout}\n{started.stderr}"
        running = {
            s.instigator_name for s in instance.all_instigator_state() if s.status == InstigatorStatus.RUNNING
        }
        assert set(FILE_SENSORS) <= running, f"sensors not running: {set(FILE_SENSORS) - running}"
        daemon_log = root / "daemon.log"
        with daemon_log.open("wb") as log:
            daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so teardown reaches its children too
            )
        yield Platform(root, home, landing, warehouse, daemon_log, daemon, instance)
    finally:
        if daemon is not None:
            _kill_group(daemon)
        instance.dispose()


# --------------------------------------------------------------------------------------------
# The files: generated once, delivered into the landing folder like a real upload would.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    stage: Path
    manifest: dict

    def expected_bronze(self, source: str, paths: set[str] | None = None) -> dict[str, int]:
        """Rows bronze must hold per day: the files' records minus their bronze-layer defects."""
        bad = Counter(
            d["file"] for d in self.manifest["defects"] if d["layer"] == "bronze" and d["source"] == source
        )
        out: Counter = Counter()
        for f in self.manifest["files"]:
            if f["source"] == source and (paths is None or f["path"] in paths):
                out[f["partition"]] += f["records"] - bad[f["path"]]
        return dict(out)

    def file(self, path: str) -> dict:
        (entry,) = [f for f in self.manifest["files"] if f["path"] == path]
        return entry


def _deliver(stage: Path, landing: Path, relative: str, age_seconds: float | None = None) -> Path:
    """Write under a hidden temp name, then rename into place (what a careful uploader does).
    With `age_seconds`, the file keeps an older mtime, as after `mv` from an upload folder."""
    target = landing / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(stage / relative, temporary)
    if age_seconds is not None:
        past = time.time() - age_seconds
        os.utime(temporary, (past, past))
    os.replace(temporary, target)
    return target


@pytest.fixture(scope="module")
def first_three_days(tmp_path_factory: pytest.TempPathFactory) -> Delivery:
    """Three days of every source (with defects), plus the generator's late files held back."""
    stage = tmp_path_factory.mktemp("stage_first")
    manifest = generate(
        stage, START, FIRST_DAYS, ORDERS_PER_DAY, seed=SEED, defect_rate=0.02, late_files=True
    )
    return Delivery(stage, manifest)


@pytest.fixture(scope="module")
def burst_days(tmp_path_factory: pytest.TempPathFactory) -> Delivery:
    """The same world generated further, for ten more days of orders."""
    stage = tmp_path_factory.mktemp("stage_burst")
    manifest = generate(stage, START, FIRST_DAYS + BURST_DAYS, ORDERS_PER_DAY, seed=SEED, defect_rate=0.02)
    return Delivery(stage, manifest)


@pytest.fixture(scope="module")
def loaded(platform: Platform, first_three_days: Delivery) -> list[dg.DagsterRun]:
    """Step 1's action: drop the three days and wait for the daemon to process them."""
    late = {f["path"] for f in first_three_days.manifest["late_files"]}
    regular = [f["path"] for f in first_three_days.manifest["files"] if f["path"] not in late]
    assert len(regular) == len(SOURCES) * FIRST_DAYS
    baseline = {r.run_id for r in platform.sensor_runs()}
    for relative in regular:
        _deliver(first_three_days.stage, platform.landing, relative)
    # fresh mtimes: each sensor waits for the files to settle, then asks for one run per day
    # 18 runs one at a time, each with its gold steps
    return platform.wait_for_runs(
        baseline, len(regular), timeout=len(regular) * RUN_SECONDS, what="three days of every source"
    )


def _assert_all_succeeded(platform: Platform, runs: list[dg.DagsterRun]) -> None:
    failed = [r for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
    problems = [p for r in runs for p in platform.problems(r)]
    assert not failed and not problems, (
        f"{len(failed)} of {len(runs)} runs did not succeed; step failures and retries:\n"
        + "\n".join(problems)
        + platform.diagnostics()
    )


def _alerts(platform: Platform) -> list[tuple]:
    return platform.query("SELECT kind, run_id, asset_key, summary FROM meta.alerts ORDER BY ALL")


def _assert_no_alerts(platform: Platform, before: list[tuple] | None = None) -> None:
    """No alert at all, or none beyond `before` (so one test's failure is not every later test's)."""
    alerts = [a for a in _alerts(platform) if a not in (before or [])]
    assert alerts == [], f"alerts were recorded: {alerts}"


def _assert_new_runs_succeeded(platform: Platform, baseline: set[str]) -> None:
    """Every run since `baseline` (the marts' automation runs included) finished successfully."""
    platform.wait_until_idle()
    _assert_all_succeeded(platform, platform.new_runs(baseline))


def _gold_orders(platform: Platform) -> dict[str, tuple[int, Decimal]]:
    """Per day: gold.fact_orders rows and the completed orders' net revenue."""
    rows = platform.query(
        "SELECT partition_date::VARCHAR, count(*), coalesce(sum(net_amount) FILTER (WHERE is_completed), 0)"
        "::DECIMAL(18, 2) FROM gold.fact_orders GROUP BY 1"
    )
    return {day: (n, revenue) for day, n, revenue in rows}


def _daily_sales(platform: Platform) -> dict[str, tuple[int, Decimal]]:
    """Per day: gold.daily_sales' orders and net revenue, summed over its stores, channels, categories."""
    rows = platform.query(
        "SELECT partition_date::VARCHAR, sum(orders)::BIGINT, sum(net_revenue)::DECIMAL(18, 2) "
        "FROM gold.daily_sales GROUP BY 1"
    )
    return {day: (n, revenue) for day, n, revenue in rows}


def _assert_gold_matches_silver(platform: Platform, days: list[str]) -> None:
    """gold.fact_orders holds each silver order of the days once, and gold.daily_sales adds them up."""
    silver = platform.counts_by_day("silver.orders")
    facts, sales = _gold_orders(platform), _daily_sales(platform)
    assert {d: facts.get(d, (0, 0))[0] for d in days} == {d: silver[d] for d in days}, "gold.fact_orders"
    assert {d: sales.get(d) for d in days} == {d: facts.get(d) for d in days}, "gold.daily_sales"
    missing = platform.query(
        "SELECT count(*) FROM silver.orders s ANTI JOIN gold.fact_orders f USING (order_id) "
        "WHERE s._partition_date::VARCHAR IN (SELECT unnest(?::VARCHAR[]))",
        [days],
    )
    assert missing == [(0,)], f"silver orders missing from gold.fact_orders: {missing}"


def _overlaps(records: list[dg.RunRecord]) -> list[str]:
    """Pairs of runs whose execution (RUN_START .. run end) overlapped in time."""
    spans = sorted((r.start_time, r.end_time, r.dagster_run.run_id[:8]) for r in records)
    return [
        f"{a[2]} [{_clock(a[0])}..{_clock(a[1])}] and {b[2]} [{_clock(b[0])}..{_clock(b[1])}]"
        for a, b in itertools.pairwise(spans)
        if b[0] < a[1]
    ]


# --------------------------------------------------------------------------------------------
# Ten day runs through the real run queue against one range run (issue 9, section 4).
# --------------------------------------------------------------------------------------------

QUEUE_DAYS = _days(date(2024, 2, 1), 10)  # after the e2e days: the instance's partition records stay apart
QUEUE_TAG = "shopflow/test"
# A bound for one bronze + silver day run through the queue: its worker loads the code location
# (5-20 s) before it runs (10-20 s); 40 s apart on a shared 2-core machine.
QUEUE_RUN_SECONDS = 60
# Bronze and silver of the master data and the orders: what the order-dependence defects were about.
# Campaigns and inventory (independent tables of the same kind) and gold (a dbt start-up of 6-10 s
# per step, so 20-30 s per day run) are left out to keep the ten queued runs affordable.
QUEUE_SELECTION = [dg.AssetKey(["bronze", s]) for s in ("products", "customers", "accounts", "orders")] + [
    dg.AssetKey(["silver", t])
    for t in ("products", "customers", "customer_id_map", "customer_duplicates", "orders")
]


@dataclass(frozen=True)
class QueueWorld:
    landing: Path
    queued: Path  # the warehouse the ten queued day runs write
    ranged: Path  # the warehouse of the one range run

    def run_config(self) -> dict:
        return {"resources": {"warehouse": {"config": {"path": str(self.queued)}},
                              "landing": {"config": {"path": str(self.landing)}}}}  # fmt: skip


@contextlib.contextmanager
def _submitter(instance: dg.DagsterInstance) -> Iterator[Callable[[dg.RunRequest], str]]:
    """Submit asset run requests to the instance's run queue exactly as the sensor daemon does
    (`submit_asset_run`), from the code location loaded in this process under the daemon's location
    name: the daemon's QueuedRunCoordinator dequeues them and its code server launches the workers."""
    from dagster._core.execution.submit_asset_runs import submit_asset_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name="shopflow_assets.definitions", working_directory=str(REPO)
    )
    origin = InProcessCodeLocationOrigin(target, location_name="shopflow")
    logger = logging.getLogger("shopflow.test_queue")
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as context:

        def submit(request: dg.RunRequest) -> str:
            workspace = context.create_request_context()
            run = asyncio.run(
                submit_asset_run(None, request, 0, instance, context, workspace, {}, {}, logger)
            )
            return run.run_id

        yield submit


def _day_request(world: QueueWorld, day: str, keys: list[dg.AssetKey], why: str) -> dg.RunRequest:
    return dg.RunRequest(
        asset_selection=keys,
        run_config=world.run_config(),
        tags={"dagster/partition": day, QUEUE_TAG: why},
    )


@pytest.fixture(scope="module")
def queue_world(tmp_path_factory: pytest.TempPathFactory) -> QueueWorld:
    """Ten small generated days (30 orders a day, the generator's defects and late files)."""
    root = tmp_path_factory.mktemp("queue")
    generate(root / "landing", date.fromisoformat(QUEUE_DAYS[0]), len(QUEUE_DAYS), 30, seed=5,
             defect_rate=0.05, late_files=True)  # fmt: skip
    return QueueWorld(root / "landing", root / "queued.duckdb", root / "ranged.duckdb")


def _wait_for_queue(platform: Platform, run_ids: list[str], timeout: float) -> int:
    """Wait until every run finished; returns the most runs seen waiting in the queue together."""
    most_queued = 0

    def finished() -> bool:
        nonlocal most_queued
        runs = platform.instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids))
        most_queued = max(most_queued, sum(r.status == dg.DagsterRunStatus.QUEUED for r in runs))
        return len(runs) == len(run_ids) and all(r.status in TERMINAL for r in runs)

    platform.wait_for(f"{len(run_ids)} queued test runs", finished, timeout)
    return most_queued


def _stale_rebuilds(platform: Platform, world: QueueWorld) -> list[tuple[str, list[dg.AssetKey]]]:
    """The stale_partitions sensor's own requests for the queued warehouse (its function, evaluated
    here: the daemon's copy watches the e2e warehouse), cut to the test's selection (no gold)."""
    from shopflow_assets_tests.test_master_history import stale_requests

    out = []
    for day, names in stale_requests(world.queued, platform.instance):
        keys = [k for k in map(dg.AssetKey.from_user_string, names) if k in QUEUE_SELECTION]
        out.append((day, keys))
    return out


def test_ten_queued_day_runs_equal_one_range_run(platform: Platform, queue_world: QueueWorld) -> None:
    """Ten day runs submitted to the real run queue in shuffled order, started one at a time by the
    daemon (duckdb_writer pool, limit 1), then the days the stale_partitions sensor asks to rebuild
    (submitted the same way) give, table for table, the warehouse one range run over the ten days
    gives (bronze, silver, quarantine; run ids and clocks aside)."""
    from shopflow_assets_tests.test_backfill import tables

    platform.wait_until_idle(timeout=180)
    days = list(QUEUE_DAYS)
    random.Random(3).shuffle(days)
    with _submitter(platform.instance) as submit:
        submitted = [submit(_day_request(queue_world, day, QUEUE_SELECTION, "day")) for day in days]
        statuses = [r.status for r in platform.instance.get_runs(filters=dg.RunsFilter(run_ids=submitted))]
        waiting = statuses.count(dg.DagsterRunStatus.QUEUED)
        # meanwhile, in this process: the range run (one single-run backfill) into the other warehouse
        ranged = materialize(
            QUEUE_SELECTION, queue_world.landing, queue_world.ranged, QUEUE_DAYS[0], QUEUE_DAYS[-1]
        )
        assert ranged.success
        _wait_for_queue(platform, submitted, timeout=len(submitted) * QUEUE_RUN_SECONDS)
        records = platform.run_records(submitted)
        _assert_all_succeeded(platform, [r.dagster_run for r in records])
        assert waiting >= len(days) - 2, f"only {waiting} of the runs waited in the queue: {statuses}"
        started = [
            r.dagster_run.tags["dagster/partition"] for r in sorted(records, key=lambda r: r.start_time)
        ]
        assert started == days, "the queue did not start the runs in the order they were submitted"
        overlapping = _overlaps(records)
        assert not overlapping, "runs of the duckdb_writer pool overlapped:\n" + "\n".join(overlapping)

        rebuilt: list[str] = []
        for _ in range(3):  # a rebuild resolves against the final versions: one round suffices
            requests = _stale_rebuilds(platform, queue_world)
            if not requests:
                break
            ids = [submit(_day_request(queue_world, day, keys, "stale")) for day, keys in requests]
            _wait_for_queue(platform, ids, timeout=(1 + len(ids)) * QUEUE_RUN_SECONDS)
            _assert_all_succeeded(platform, [r.dagster_run for r in platform.run_records(ids)])
            rebuilt += [day for day, _ in requests]
    assert _stale_rebuilds(platform, queue_world) == []
    assert rebuilt, "test precondition: the shuffled order left days that resolved master data too early"

    a, b = tables(queue_world.ranged), tables(queue_world.queued)
    assert set(a) == set(b) and len(a) >= 10, sorted(set(a) ^ set(b))
    for name in a:
        assert a[name] == b[name], name
    assert len(a["silver.orders"]) > 250 and len(a["quarantine.rejected_records"]) > 0


# --------------------------------------------------------------------------------------------
# The tests (in file order: each leaves the platform idle for the next).
# --------------------------------------------------------------------------------------------


def test_sensors_load_three_days_of_every_source(
    platform: Platform, first_three_days: Delivery, loaded: list[dg.DagsterRun]
) -> None:
    _assert_all_succeeded(platform, loaded)
    file_runs = [r for r in loaded if r.tags[SENSOR_TAG] in FILE_SENSORS]  # not stale_partitions' rebuilds
    launched = Counter((r.tags.get("shopflow/source"), r.tags.get("dagster/partition")) for r in file_runs)
    assert launched == Counter({(s, d): 1 for s in SOURCES for d in FIRST}), launched
    assert {r.tags[SENSOR_TAG] for r in file_runs} == set(FILE_SENSORS)

    late = {f["path"] for f in first_three_days.manifest["late_files"]}
    delivered = {f["path"] for f in first_three_days.manifest["files"]} - late
    for source in SOURCES:
        expected = first_three_days.expected_bronze(source, delivered)
        assert platform.counts_by_day(f"bronze.{source}") == expected, f"bronze.{source}"
    assert platform.query("SELECT count(*) FROM quarantine.rejected_files") == [(0,)]

    silver = platform.counts_by_day("silver.orders")
    bronze = platform.counts_by_day("bronze.orders")
    assert set(silver) == set(FIRST), f"silver.orders partitions: {sorted(silver)}"
    for day in FIRST:
        # silver drops what its rules reject and the duplicates, never more than a handful here
        assert 0.9 * bronze[day] <= silver[day] <= bronze[day], (day, bronze[day], silver[day])
    for table in ("products", "customers", "customer_id_map", "inventory_movements", "campaign_performance"):
        assert set(platform.counts_by_day(f"silver.{table}")) == set(FIRST), f"silver.{table}"
    # gold: the runs carried every day through to the facts, and the marts' automation runs succeeded
    platform.wait_until_idle()
    _assert_gold_matches_silver(platform, FIRST)
    automation = [r for r in platform.instance.get_runs() if r.tags.get(SENSOR_TAG) == AUTOMATION]
    _assert_all_succeeded(platform, automation)
    assert platform.query("SELECT count(*) > 0 FROM gold.customer_metrics") == [(True,)]
    _assert_no_alerts(platform)

    # one writer at a time: the pool limit (registered up front) serialises the queued runs
    overlapping = _overlaps(platform.run_records([r.run_id for r in loaded]))
    assert not overlapping, "runs of the duckdb_writer pool overlapped:\n" + "\n".join(overlapping)


def test_a_late_file_reprocesses_only_its_day_once(
    platform: Platform, first_three_days: Delivery, loaded: list[dg.DagsterRun]
) -> None:
    entry = first_three_days.file(LATE_PATH)
    late_defects = [d for d in first_three_days.manifest["defects"] if d["file"] == LATE_PATH]
    assert entry["kind"] == "late" and entry["partition"] == FIRST[0] and not late_defects, (
        "test precondition: with this seed the generator's late orders file for the first day "
        f"must exist and be clean; got {entry} with defects {late_defects}"
    )
    with (first_three_days.stage / LATE_PATH).open(encoding=entry["encoding"], newline="") as fh:
        late_orders = {row["order_id"] for row in csv.DictReader(fh, delimiter=entry["delimiter"])}
    assert len(late_orders) == entry["records"]

    platform.wait_until_idle()
    before = {
        "bronze": platform.rows_by_day("bronze.orders", BRONZE_VOLATILE, FIRST),
        "silver": platform.rows_by_day("silver.orders", SILVER_VOLATILE, FIRST),
    }
    gold_before = {"facts": _gold_orders(platform), "sales": _daily_sales(platform)}
    fact_ids = {
        r[0]
        for r in platform.query("SELECT order_id FROM gold.fact_orders WHERE partition_date = ?", [FIRST[0]])
    }
    alerts, everything = _alerts(platform), platform.run_ids()
    baseline = {r.run_id for r in platform.sensor_runs()}

    _deliver(first_three_days.stage, platform.landing, LATE_PATH)  # fresh mtime: it has to settle

    runs = platform.wait_for_runs(baseline, 1, timeout=RUN_SECONDS, what="the late file")
    assert len(runs) == 1, f"expected one run for the late file{platform.diagnostics()}"
    (run,) = runs
    _assert_all_succeeded(platform, runs)
    assert run.tags[SENSOR_TAG] == "orders_files", run.tags
    assert run.tags["dagster/partition"] == FIRST[0], run.tags
    assert run.tags["shopflow/files"] == "2", run.tags  # the day's file and the late one, together
    # Repeated ticks must not ask again for the same files.
    (record,) = platform.run_records([run.run_id])
    platform.wait_for_ticks(FILE_SENSORS, after=record.end_time, count=2, timeout=60)
    again = platform.new_sensor_runs(baseline)
    assert [r.run_id for r in again] == [run.run_id], f"extra runs: {platform.diagnostics()}"

    after = {
        "bronze": platform.rows_by_day("bronze.orders", BRONZE_VOLATILE, FIRST),
        "silver": platform.rows_by_day("silver.orders", SILVER_VOLATILE, FIRST),
    }
    for layer in ("bronze", "silver"):
        for day in FIRST[1:]:
            assert after[layer][day] == before[layer][day], f"{layer} {day} changed"
        removed = before[layer][FIRST[0]] - after[layer][FIRST[0]]
        added = after[layer][FIRST[0]] - before[layer][FIRST[0]]
        assert not removed, f"{layer} {FIRST[0]} lost or changed rows: {list(removed)[:3]}"
        added_rows = [dict(row) for row in added.elements()]
        assert {row["_source_file"] for row in added_rows} == {repr(LATE_PATH)}, layer
        assert sorted(row["order_id"] for row in added_rows) == sorted(repr(o) for o in late_orders), layer

    # gold: the day's facts gained exactly the late orders, daily_sales their revenue; other days unchanged
    _assert_new_runs_succeeded(platform, everything)
    facts, sales = _gold_orders(platform), _daily_sales(platform)
    assert {d: facts[d] for d in FIRST[1:]} == {d: gold_before["facts"][d] for d in FIRST[1:]}
    assert {d: sales[d] for d in FIRST[1:]} == {d: gold_before["sales"][d] for d in FIRST[1:]}
    ids = {
        r[0]
        for r in platform.query("SELECT order_id FROM gold.fact_orders WHERE partition_date = ?", [FIRST[0]])
    }
    assert ids == fact_ids | late_orders and not fact_ids & late_orders
    ((late_revenue,),) = platform.query(
        "SELECT sum(net_amount) FILTER (WHERE status = 'completed')::DECIMAL(18, 2) FROM silver.orders "
        "WHERE _source_file = ?",
        [LATE_PATH],
    )
    assert late_revenue > 0
    assert facts[FIRST[0]] == (gold_before["facts"][FIRST[0]][0] + len(late_orders),
                               gold_before["facts"][FIRST[0]][1] + late_revenue)  # fmt: skip
    assert sales[FIRST[0]] == facts[FIRST[0]]
    _assert_no_alerts(platform, alerts)


def test_ten_runs_at_once_queue_and_all_succeed(
    platform: Platform, burst_days: Delivery, loaded: list[dg.DagsterRun]
) -> None:
    paths = [f"orders/orders_{day}.csv" for day in BURST]
    for path in paths:
        assert burst_days.file(path)["partition"] in BURST

    platform.wait_until_idle()
    alerts, everything = _alerts(platform), platform.run_ids()
    baseline = {r.run_id for r in platform.sensor_runs()}
    for path in paths:  # ten days land together, already settled: one tick requests them all
        _deliver(burst_days.stage, platform.landing, path, age_seconds=60)

    queued_at_once = 0

    def watch() -> bool:  # piggy-backs on the wait to record how many runs waited together
        nonlocal queued_at_once
        runs = platform.new_sensor_runs(baseline)
        queued_at_once = max(queued_at_once, sum(r.status == dg.DagsterRunStatus.QUEUED for r in runs))
        return len(runs) >= BURST_DAYS and all(r.status in TERMINAL for r in runs)

    platform.wait_for(f"{BURST_DAYS} finished orders runs", watch, timeout=BURST_DAYS * RUN_SECONDS)
    runs = platform.new_sensor_runs(baseline)

    assert len(runs) == BURST_DAYS, platform.diagnostics()
    _assert_all_succeeded(platform, runs)  # no step failure or retry: nobody met the DuckDB lock
    assert {r.tags[SENSOR_TAG] for r in runs} == {"orders_files"}
    assert sorted(r.tags["dagster/partition"] for r in runs) == BURST
    assert queued_at_once >= 2, f"the runs never waited in the queue together ({queued_at_once})"
    # The duckdb_writer pool (run granularity, limit 1) ran them strictly one after the other.
    overlapping = _overlaps(platform.run_records([r.run_id for r in runs]))
    assert not overlapping, "runs of the duckdb_writer pool overlapped:\n" + "\n".join(overlapping)

    expected = burst_days.expected_bronze("orders", set(paths))
    counts = platform.counts_by_day("bronze.orders")
    assert {d: counts.get(d) for d in BURST} == expected
    silver = platform.counts_by_day("silver.orders")
    assert all(silver.get(d, 0) > 0 for d in BURST), silver
    _assert_new_runs_succeeded(platform, everything)
    _assert_gold_matches_silver(platform, BURST)
    _assert_no_alerts(platform, alerts)


def test_a_late_catalog_file_changes_only_its_own_day(
    platform: Platform, loaded: list[dg.DagsterRun]
) -> None:
    """A products file for day 1 after days 1-3 were built: versioned master data needs no range
    run for the later days. Exactly one run, for day 1; the new product's version is valid from
    day 1 on; no order sells it, so no later day resolves differently and none is made stale."""
    platform.wait_until_idle()
    built = sorted(platform.instance.get_materialized_partitions(dg.AssetKey(["silver", "products"])))
    assert built[0] == FIRST[0]
    everything = platform.run_ids()
    baseline = {r.run_id for r in platform.sensor_runs()}
    late = platform.landing / "products" / f"products_{FIRST[0]}_late.json"
    late.write_text(json.dumps({"snapshot_date": FIRST[0], "products": [
        {"product_id": "PLATE1", "name": "Late Tea", "category": "Food", "brand": "B", "supplier": "S",
         "cost_price": 1.5, "retail_price": 3.0, "active": True, "last_updated": f"{FIRST[0]}T09:00:00Z"}]}))  # fmt: skip
    past = time.time() - 60
    os.utime(late, (past, past))
    (run,) = platform.wait_for_runs(baseline, 1, timeout=RUN_SECONDS, what="the late catalog's run")
    _assert_all_succeeded(platform, [run])
    assert run.tags["dagster/partition"] == FIRST[0]
    assert "dagster/asset_partition_range_start" not in run.tags
    platform.wait_for_ticks(["products_files"], after=time.time(), count=2, timeout=60)
    platform.wait_until_idle()
    assert len(platform.new_sensor_runs(baseline)) == 1
    assert platform.query(
        "SELECT valid_from::VARCHAR, valid_to, is_current FROM silver.products WHERE product_id = 'PLATE1'"
    ) == [(FIRST[0], None, True)]
    assert platform.query("SELECT count(*) FROM meta.stale_partitions") == [(0,)]
    _assert_new_runs_succeeded(platform, everything)
    assert platform.query(
        "SELECT valid_from::VARCHAR, is_current FROM gold.dim_products WHERE product_id = 'PLATE1'"
    ) == [(FIRST[0], True)]


def _price_change_target(platform: Platform) -> tuple[str, dict, list[tuple[str, str]]]:
    """A product whose only version opened on day 1, sold on as few later days as possible, and the
    (table, day) pairs a new version from day 2 on must make stale: the days, other than day 2, with
    orders or stock movements of it looked up at or after day 2."""
    at = f"TIMESTAMP '{FIRST[1]}'"
    rows = platform.query(
        f"""WITH single AS (SELECT product_id FROM silver.products GROUP BY 1
                            HAVING count(*) = 1 AND min(valid_from) = DATE '{FIRST[0]}'),
            touched AS (
                SELECT 'orders' AS t, product_id, partition_date AS day FROM gold.fact_orders
                WHERE coalesce(order_timestamp, partition_date::TIMESTAMP) >= {at}
                UNION SELECT 'inventory_movements', product_id, partition_date FROM gold.fact_inventory_movements
                WHERE coalesce(movement_timestamp, partition_date::TIMESTAMP) >= {at})
            SELECT product_id, list(DISTINCT (t, day::VARCHAR)) FILTER (WHERE day <> DATE '{FIRST[1]}') AS stale
            FROM touched JOIN single USING (product_id) GROUP BY 1
            HAVING count(*) FILTER (WHERE t = 'orders' AND day <> DATE '{FIRST[1]}') > 0
            ORDER BY len(stale), product_id LIMIT 1"""
    )
    assert rows, "test precondition: a product with one version from day 1 that later days sell"
    product_id, stale = rows[0]
    with connect(platform.warehouse, read_only=True, lock_timeout=30) as con:
        cursor = con.execute(
            "SELECT product_id, name, category, brand, supplier, cost_price::DOUBLE AS cost_price, "
            "retail_price::DOUBLE AS retail_price, active FROM silver.products WHERE product_id = ?",
            [product_id],
        )
        record = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    return product_id, record, sorted((t, d) for t, d in stale)


def test_a_late_price_change_rebuilds_the_gold_facts_it_changes(
    platform: Platform, loaded: list[dg.DagsterRun]
) -> None:
    """A late products file for day 2 with a new cost price of a product day 1 opened: its own run
    builds day 2 (silver and gold); gold records the other days whose facts now resolve to the new
    version, and the stale_partitions sensor rebuilds exactly those (table, day)s, gold included: every
    fact row looked up from day 2 on carries the new version and cost, the earlier ones the old."""
    platform.wait_until_idle()
    product_id, record, expected = _price_change_target(platform)
    old_cost = Decimal(str(record["cost_price"]))
    new_cost = (old_cost + Decimal("0.75")).quantize(Decimal("0.01"))
    everything, alerts = platform.run_ids(), _alerts(platform)
    baseline = {r.run_id for r in platform.sensor_runs()}
    late = platform.landing / "products" / f"products_{FIRST[1]}_late.json"
    late.write_text(json.dumps({"snapshot_date": FIRST[1], "products": [
        {**record, "cost_price": float(new_cost), "last_updated": f"{FIRST[1]}T09:00:00Z"}]}))  # fmt: skip
    past = time.time() - 60
    os.utime(late, (past, past))

    days = sorted({d for _, d in expected})
    runs = platform.wait_for_runs(
        baseline, 1 + len(days), timeout=(2 + len(days)) * RUN_SECONDS, what="the late price and its rebuilds"
    )
    _assert_new_runs_succeeded(platform, everything)
    own = [r for r in runs if r.tags[SENSOR_TAG] == "products_files"]
    assert [r.tags["dagster/partition"] for r in own] == [FIRST[1]], platform.diagnostics()
    rebuilds = [r for r in platform.new_sensor_runs(baseline) if r.tags[SENSOR_TAG] == "stale_partitions"]
    done = sorted(
        (t, r.tags["dagster/partition"]) for r in rebuilds for t in r.tags["shopflow/stale_tables"].split(",")
    )
    assert done == expected, platform.diagnostics()
    assert platform.query("SELECT count(*) FROM meta.stale_partitions") == [(0,)]

    ((new_sk,),) = platform.query(
        "SELECT product_sk FROM gold.dim_products WHERE product_id = ? AND valid_from = ?",
        [product_id, FIRST[1]],
    )
    by_version = platform.query(
        f"""SELECT coalesce(order_timestamp, partition_date::TIMESTAMP) >= TIMESTAMP '{FIRST[1]}' AS late,
                   count(*), count(*) FILTER (WHERE product_sk = ?),
                   count(*) FILTER (WHERE cost_amount = (quantity * ?)::DECIMAL(18, 2))
            FROM gold.fact_orders WHERE product_id = ? GROUP BY 1 ORDER BY 1""",
        [new_sk, new_cost, product_id],
    )
    late_rows = [(n, sk, cost) for is_late, n, sk, cost in by_version if is_late]
    assert late_rows and late_rows[0][0] == late_rows[0][1] == late_rows[0][2], by_version
    assert all(sk == cost == 0 for is_late, _, sk, cost in by_version if not is_late), by_version
    _assert_no_alerts(platform, alerts)


def _run_record(platform: Platform, run_id: str) -> dg.RunRecord:
    (record,) = platform.run_records([run_id])
    return record


def test_a_killed_cli_run_is_failed_and_the_queue_goes_on(platform: Platform) -> None:
    """Last in the module (it leaves an alert behind). A CLI run waits for the DuckDB lock the test
    holds (a slow run) and holds the pool's one slot, so a sensor run queues behind it. The reaper
    leaves the slow run alone; after `kill -9` it fails it within a few ticks and the queue goes on."""
    platform.wait_until_idle()
    # every file sensor past its first look (which reads the warehouse, and the test will lock it)
    platform.wait_for_ticks(FILE_SENSORS, after=0.0, count=1, timeout=90)
    day = (START + timedelta(days=FIRST_DAYS + BURST_DAYS)).isoformat()  # a day nothing has built yet
    stage = platform.root / "stage_kill"
    write_csv(stage / "orders" / f"orders_{day}.csv", [order_line(f"K{i}", day=day) for i in range(3)])
    env = _dagster_env(platform.home, platform.landing, platform.warehouse)
    cli_log = platform.root / "killed_cli.log"
    baseline = {r.run_id for r in platform.instance.get_runs()}

    with connect(platform.warehouse, lock_timeout=30), cli_log.open("wb") as log:
        cli = subprocess.Popen(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "shopflow_assets.definitions",
             "--select", "bronze/orders", "--partition", FIRST[1]],
            cwd=platform.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            found: dict[str, dg.DagsterRun] = {}

            def cli_run_working() -> bool:
                if cli.poll() is not None:
                    pytest.fail(f"the CLI run exited early:\n{cli_log.read_text(errors='replace')[-3000:]}")
                runs = [r for r in platform.instance.get_runs() if r.run_id not in baseline]
                cli_runs = [r for r in runs if SENSOR_TAG not in r.tags]
                if cli_runs and recorded_worker(platform.instance, cli_runs[0].run_id) is not None:
                    found["cli"] = cli_runs[0]
                return "cli" in found

            platform.wait_for("the CLI run to start and record its worker", cli_run_working, timeout=60)
            cli_run = found["cli"]
            assert recorded_worker(platform.instance, cli_run.run_id).pid == cli.pid

            _deliver(stage, platform.landing, f"orders/orders_{day}.csv", age_seconds=60)

            def sensor_run_queued() -> bool:
                runs = [
                    r for r in platform.new_sensor_runs(baseline) if r.tags.get("dagster/partition") == day
                ]
                if runs:
                    found["queued"] = runs[0]
                return bool(runs) and runs[0].status == dg.DagsterRunStatus.QUEUED

            platform.wait_for("the sensor run for the new day to queue", sensor_run_queued, timeout=60)
            # Merely slow: the reaper looks at it several times and leaves it alone, and the queued run
            # keeps waiting behind it (one duckdb_writer slot).
            platform.wait_for_ticks(["reap_dead_runs"], after=time.time(), count=3, timeout=30)
            statuses = {r.run_id: r.status for r in platform.instance.get_runs()}
            assert statuses[cli_run.run_id] == dg.DagsterRunStatus.STARTED, platform.diagnostics()
            assert statuses[found["queued"].run_id] == dg.DagsterRunStatus.QUEUED, platform.diagnostics()

            os.kill(cli.pid, signal.SIGKILL)
            cli.wait(timeout=30)
            killed_at = time.time()
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()

    queued = found["queued"]
    platform.wait_for(
        "the killed run to be marked failed",
        lambda: platform.instance.get_run_by_id(cli_run.run_id).status == dg.DagsterRunStatus.FAILURE,
        timeout=45,
    )
    platform.wait_for(
        "the queued run to finish",
        lambda: platform.instance.get_run_by_id(queued.run_id).status in TERMINAL,
        timeout=RUN_SECONDS,
    )
    killed, waited = _run_record(platform, cli_run.run_id), _run_record(platform, queued.run_id)
    assert killed.end_time - killed_at < 30, f"reaped {killed.end_time - killed_at:.1f} s after the kill"
    (failure,) = platform.instance.all_logs(cli_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert (
        f"pid {cli.pid}" in failure.dagster_event.message
        and "reap_dead_runs" in failure.dagster_event.message
    )
    _assert_all_succeeded(platform, [waited.dagster_run])
    assert waited.start_time >= killed.end_time, "the queued run started before the slot was free"
    assert platform.counts_by_day("bronze.orders")[day] == 3
