"""`make bench`, part four (`make bench-gold`): the gold layer.

`gold-day`: the 1,000,000-order day (the day bench's landing data). A fresh warehouse goes through
one run per layer (`group:bronze`, `group:silver`, `group:gold`), each with its wall time, the sum of
its steps and its peak RSS. Then BENCH_GOLD_ROUNDS rounds of (a) DuckDB alone loading the orders CSV,
(g) `group:gold` for that day from a copy of the warehouse as silver left it, (e) `group:gold` for a
day without files from a warehouse whose bronze and silver ran for that empty day, and (a) again; (g)
and (e) swap places every other round. The gold steps' times are the STEP_START -> STEP_SUCCESS spans
of the run's event log (per step: gold_reference, gold_daily, gold_marts), so process start-up and
code-location loading are not part of them. Per round: (g - e) / a per step and in total, (a) being
the mean of the round's two; targets: median total ratio <= 1.5 and the gold steps of (e), the fixed
overhead, <= 8 s. The empty-day steps are broken down into the Dagster step before dbt, the dbt process
(start-up, parse, the dbt run itself as dbt reports it) and the events recorded after dbt; one
`dbt parse` outside Dagster splits start-up from a full and a partial parse.

`gold-backfill`: BENCH_BACKFILL_DAYS (30) days at the demo volume (the history bench's landing data):
one `--partition-range` run of `*` against the same days as single-partition runs of `*`, one after
the other, each round from fresh warehouses, in BENCH_BACKFILL_ROUNDS rounds that alternate which goes
first; target: (sum of the single runs) / (range run) >= 5. Both warehouses must end with the same
gold row counts.

The bench reports targets; it fails only when a run fails or gold is wrong (a correct bench under load
is slow, not failed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from shopflow_assets.bench import (
    DAY,
    EMPTY_DAY,
    ORDERS,
    CliRun,
    _bin,
    cached_landing,
    cli_run,
    duckdb_alone,
    instance_env,
    load_average,
    orders_csv,
    runs,
    spread,
)
from shopflow_assets.lib.warehouse import REPO_ROOT

GOLD_STEPS = ("gold_reference", "gold_daily", "gold_marts")
LAYERS = ("bronze", "silver", "gold")
ROUNDS = int(os.environ.get("BENCH_GOLD_ROUNDS", "5"))
BACKFILL_START = date(2024, 1, 1)
BACKFILL_DAYS = int(os.environ.get("BENCH_BACKFILL_DAYS", "30"))
BACKFILL_ROUNDS = int(os.environ.get("BENCH_BACKFILL_ROUNDS", "2"))
# Single runs actually made per round (default: all the days); fewer are scaled up to BACKFILL_DAYS,
# as every single run costs about the same (a day's run does not grow with the history before it).
SINGLE_DAYS = int(os.environ.get("BENCH_BACKFILL_SINGLE_DAYS", str(BACKFILL_DAYS)))
BACKFILL_ORDERS = 2000  # the demo volume
HISTORY_DAYS = 90  # the history bench's landing data covers the backfill's days: reused, not regenerated
TARGETS = {"gold_ratio": 1.5, "gold_fixed_s": 8.0, "backfill_speedup": 5.0}
DBT_FINISHED = re.compile(r"Finished running .* in .*\(([\d.]+)s\)\.")
STEP_START = re.compile(r" - (\w+) - STEP_START - ")


# ---- pure parts: what the runs' events and output say, the rounds' ratios, the report lines ----


@dataclass(frozen=True)
class StepTiming:
    """One step of a run, from its event log: STEP_START and STEP_SUCCESS, and dagster-dbt's "Running
    dbt command" / "Finished dbt command" messages (None for a step without dbt)."""

    start: float
    end: float
    dbt_start: float | None = None
    dbt_end: float | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Breakdown:
    """Where one gold step's time goes (seconds)."""

    before_dbt: float = 0.0  # the Dagster step up to starting dbt (selection, partial-parse copy)
    dbt_startup_parse: float = 0.0  # the dbt process without its run: interpreter, imports, parse
    dbt_run: float = 0.0  # dbt's own "Finished running ... (Xs)": the models and tests
    after_dbt: float = 0.0  # events and metadata recorded once dbt has finished

    @property
    def total(self) -> float:
        return self.before_dbt + self.dbt_startup_parse + self.dbt_run + self.after_dbt


@dataclass
class GoldRound:
    a: float  # DuckDB alone: the mean of the round's two
    day: dict[str, float] = field(default_factory=dict)  # gold step -> seconds, 1M-order day
    empty: dict[str, float] = field(default_factory=dict)  # gold step -> seconds, day without files

    def net(self, step: str | None = None) -> float:
        """(g - e) for one step or all gold steps."""
        steps = GOLD_STEPS if step is None else (step,)
        return sum(self.day.get(s, 0.0) - self.empty.get(s, 0.0) for s in steps)

    def ratio(self, step: str | None = None) -> float:
        return self.net(step) / self.a

    def fixed(self) -> float:
        return sum(self.empty.get(s, 0.0) for s in GOLD_STEPS)


def dbt_run_seconds(output: str) -> dict[str, float]:
    """Per step, dbt's own time for its models and tests, from the CLI output: steps run in process,
    so dbt's "Finished running ... (4.86s)." line follows its step's STEP_START line. A step whose dbt
    had nothing to do has no such line."""
    found: dict[str, float] = {}
    step = ""
    for line in output.splitlines():
        if started := STEP_START.search(line):
            step = started.group(1)
        elif (done := DBT_FINISHED.search(line)) and step:
            found[step] = found.get(step, 0.0) + float(done.group(1))
    return found


def breakdown(step: StepTiming, dbt_run: float) -> Breakdown:
    if step.dbt_start is None or step.dbt_end is None:
        return Breakdown(before_dbt=step.seconds)
    return Breakdown(
        before_dbt=step.dbt_start - step.start,
        dbt_startup_parse=max(step.dbt_end - step.dbt_start - dbt_run, 0.0),
        dbt_run=dbt_run,
        after_dbt=step.end - step.dbt_end,
    )


def median_ratio(rounds: Sequence[GoldRound], step: str | None = None) -> float:
    return statistics.median(r.ratio(step) for r in rounds)


def gold_round_lines(rounds: Sequence[GoldRound]) -> list[str]:
    """Every round: (a), each gold step of (g) and (e), and the round's ratios."""
    lines = []
    for i, r in enumerate(rounds, 1):
        steps = "  ".join(
            f"{s.removeprefix('gold_')} {r.day.get(s, 0.0):.2f}/{r.empty.get(s, 0.0):.2f}" for s in GOLD_STEPS
        )
        per_step = " ".join(f"{r.ratio(s):.2f}" for s in GOLD_STEPS)
        lines.append(
            f"  round {i}: a {r.a:.2f} s; g/e per step: {steps} s; "
            f"g {sum(r.day.values()):.2f} e {r.fixed():.2f} s; (g - e) / a = {r.ratio():.2f} [{per_step}]"
        )
    return lines


def gold_summary_lines(rounds: Sequence[GoldRound]) -> list[str]:
    """The medians, per step and in total, against the targets."""
    lines = [f"  {'step':16} {'g (s)':>8} {'e (s)':>8} {'g - e':>8} {'(g - e) / a, median of rounds':>31}"]
    for step in (*GOLD_STEPS, None):
        ratios = [r.ratio(step) for r in rounds]
        g = statistics.median(
            sum(r.day.get(s, 0.0) for s in ([step] if step else GOLD_STEPS)) for r in rounds
        )
        e = statistics.median(
            sum(r.empty.get(s, 0.0) for s in ([step] if step else GOLD_STEPS)) for r in rounds
        )
        lines.append(
            f"  {step or 'total':16} {g:8.2f} {e:8.2f} {statistics.median(r.net(step) for r in rounds):8.2f} "
            f"{spread(ratios)} {runs(ratios)}"
        )
    total = median_ratio(rounds)
    fixed = [r.fixed() for r in rounds]
    lines.append(f"  (a) DuckDB alone: {spread([r.a for r in rounds])} s {runs(r.a for r in rounds)}")
    lines.append(
        f"  total (g - e) / a = {total:.2f} (target <= {TARGETS['gold_ratio']}): "
        f"{'met' if total <= TARGETS['gold_ratio'] else 'NOT met'}"
    )
    lines.append(
        f"  fixed overhead, gold steps of (e) = {statistics.median(fixed):.2f} s, {spread(fixed)} "
        f"(target <= {TARGETS['gold_fixed_s']:.0f} s): "
        f"{'met' if statistics.median(fixed) <= TARGETS['gold_fixed_s'] else 'NOT met'}"
    )
    return lines


def backfill_lines(
    range_runs: Sequence[float], single_runs: Sequence[Sequence[float]], days: int
) -> list[str]:
    """Every round's range run and single runs, and the median speed-up; single runs made for fewer
    than `days` days are scaled up to `days`."""
    lines, speedups = [], []
    for i, (whole, singles) in enumerate(zip(range_runs, single_runs, strict=True), 1):
        total = sum(singles) * days / len(singles)
        speedups.append(total / whole)
        scaled = "" if len(singles) == days else f", scaled to {days} days: {total:.1f} s"
        lines.append(
            f"  round {i}: range run {whole:.1f} s; {len(singles)} single runs {sum(singles):.1f} s{scaled} "
            f"(median {statistics.median(singles):.1f} s, each {runs(singles)}); speed-up {speedups[-1]:.2f}x"
        )
    speedup = statistics.median(speedups)
    lines.append(
        f"  single runs / range run = {speedup:.2f}x, {spread(speedups)} of the rounds {runs(speedups)} "
        f"(target >= {TARGETS['backfill_speedup']:.0f}x): "
        f"{'met' if speedup >= TARGETS['backfill_speedup'] else 'NOT met'}"
    )
    return lines


# ---- reading the runs back: in a child process, so that Dagster's memory never inflates the ----
# ---- ru_maxrss of the `dagster` runs this process starts later                               ----


def step_timings(env: Mapping[str, str], run_ids: Sequence[str]) -> dict[str, dict[str, StepTiming]]:
    """Per run id, per step: its timing from the event log of the instance in env's DAGSTER_HOME."""
    code = "import sys; from shopflow_assets.bench_gold import _dump_step_timings; _dump_step_timings(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, *run_ids],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=dict(env),
    )
    raw = json.loads(done.stdout.splitlines()[-1])
    return {run: {step: StepTiming(**t) for step, t in steps.items()} for run, steps in raw.items()}


def _dump_step_timings(run_ids: Sequence[str]) -> None:
    import dagster as dg

    out: dict[str, dict[str, dict[str, float]]] = {}
    with dg.DagsterInstance.get() as instance:
        for run_id in run_ids:
            steps: dict[str, dict[str, float]] = {}
            for entry in instance.all_logs(run_id):
                key = entry.step_key
                if key is None:
                    continue
                step = steps.setdefault(key, {})
                kind = entry.dagster_event.event_type_value if entry.dagster_event else None
                message = entry.user_message or ""
                if kind == "STEP_START":
                    step["start"] = entry.timestamp
                elif kind == "STEP_SUCCESS":
                    step["end"] = entry.timestamp
                elif message.startswith("Running dbt command"):
                    step.setdefault("dbt_start", entry.timestamp)
                elif message.startswith("Finished dbt command"):
                    step["dbt_end"] = entry.timestamp
            out[run_id] = {k: v for k, v in steps.items() if "start" in v and "end" in v}
    print(json.dumps(out))


def gold_seconds(timings: Mapping[str, StepTiming]) -> dict[str, float]:
    return {s: timings[s].seconds for s in GOLD_STEPS if s in timings}


def dbt_parse_split(env: Mapping[str, str]) -> tuple[float, float, float]:
    """(start-up, full parse, partial parse) seconds of `dbt parse` outside Dagster, from dbt's
    perf_info.json: a full parse first (with dbt vars, as gold_daily's invocations), then the same
    command again, which parses partially. Start-up = the process's wall time minus its parse."""
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-parse-") as target:
        cmd = [_bin("dbt"), "parse", "--profiles-dir", ".", "--target-path", target, "--quiet",
               "--vars", json.dumps({"min_date": DAY.isoformat(), "max_date": (DAY + timedelta(1)).isoformat()})]  # fmt: skip
        figures = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=REPO_ROOT / "dbt_project", env=dict(env), capture_output=True)
            wall = time.perf_counter() - started
            parse = json.loads((Path(target) / "perf_info.json").read_text())["load_all_elapsed"]
            figures.append((wall, parse))
    (full_wall, full), (_, partial) = figures
    return full_wall - full, full, partial


def gold_row_counts(db: Path) -> dict[str, int]:
    """Rows per gold table: the range run and the single runs must agree."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'gold' ORDER BY table_name"
            ).fetchall()
        ]
        return {t: con.execute(f'SELECT count(*) FROM gold."{t}"').fetchone()[0] for t in tables}


def day_rows(db: Path, day: date) -> tuple[int, int, int]:
    """(silver orders, gold fact_orders, gold daily_sales orders) of the day: gold must carry the day."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """SELECT (SELECT count(*) FROM silver.orders WHERE _partition_date = $1),
                      (SELECT count(*) FROM gold.fact_orders WHERE partition_date = $1),
                      (SELECT coalesce(sum(orders), 0) FROM gold.daily_sales WHERE partition_date = $1)""",
            [day],
        ).fetchone()


def carries_day(counts: set[tuple[int, int, int]]) -> bool:
    """Every (g) left the same (silver orders, fact_orders, daily_sales orders), all equal and not 0."""
    if len(counts) != 1:
        return False
    (only,) = counts
    return len(set(only)) == 1 and only[0] > 0


# ---- the two parts ----


def _layer_line(layer: str, run: CliRun, steps: Mapping[str, StepTiming]) -> str:
    step_sum = sum(t.seconds for t in steps.values())
    return (
        f"  {layer:7} wall {run.seconds:7.1f} s   steps {step_sum:7.1f} s   peak RSS {run.rss_mib:7,.0f} MiB"
        f"   ({len(steps)} steps)"
    )


def gold_day_bench() -> bool:
    landing = cached_landing(DAY, 1, ORDERS, seed=7, defect_rate=0.001)
    csv_path, orders_file = orders_csv(landing, DAY)
    print(f"Gold day bench starts: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-gold-") as tmp_name:
        tmp = Path(tmp_name)
        db, silvered, empty_silvered = tmp / "day.duckdb", tmp / "silvered.duckdb", tmp / "empty.duckdb"
        env = instance_env(tmp, landing, db)
        # one run per layer, so each has its own process and peak RSS; the warehouse as silver
        # left it is kept for the rounds
        layer_runs: dict[str, CliRun] = {}
        for layer in LAYERS:
            if layer == "gold":
                shutil.copy(db, silvered)
            layer_runs[layer] = cli_run(DAY, env, f"group:{layer}")
            print(f"  layer {layer}: {layer_runs[layer].seconds:.1f} s", flush=True)
        cli_run(
            EMPTY_DAY, {**env, "SHOPFLOW_DUCKDB_PATH": str(empty_silvered)}, "group:bronze or group:silver"
        )

        pending: list[tuple[int, str, CliRun]] = []  # round, "day" / "empty", run
        a_runs: list[float] = []
        counts: set[tuple[int, int, int]] = set()  # (silver, fact_orders, daily_sales) after every (g)
        for i in range(ROUNDS):
            before = duckdb_alone(csv_path, tmp / f"a{i}.duckdb")
            for kind in ("day", "empty") if i % 2 == 0 else ("empty", "day"):
                shutil.copy(silvered if kind == "day" else empty_silvered, db)
                pending.append((i, kind, cli_run(DAY if kind == "day" else EMPTY_DAY, env, "group:gold")))
                if kind == "day":
                    counts.add(day_rows(db, DAY))
            a_runs.append((before + duckdb_alone(csv_path, tmp / f"a{i}b.duckdb")) / 2)
            print(f"  round {i + 1}: a {a_runs[-1]:.2f} s, " + ", ".join(
                f"{k} {r.seconds:.1f} s" for j, k, r in pending if j == i), flush=True)  # fmt: skip
        timings = step_timings(env, [r.run_id for r in layer_runs.values()] + [r.run_id for *_, r in pending])
        parse_split = dbt_parse_split(env)

    rounds = [GoldRound(a=a) for a in a_runs]
    for i, kind, run in pending:
        setattr(rounds[i], kind, gold_seconds(timings[run.run_id]))
    print(f"\nGold benchmark: {orders_file['records']:,} orders on {DAY}; a day without files {EMPTY_DAY}")
    print("  each layer for the day, one run each from a fresh warehouse (wall = the whole CLI process):")
    for layer, run in layer_runs.items():
        print(_layer_line(layer, run, timings[run.run_id]))
    gold_layer = timings[layer_runs["gold"].run_id]
    print("    gold steps: " + ", ".join(f"{s} {t:.1f} s" for s, t in gold_seconds(gold_layer).items()))
    correct = carries_day(counts)
    print(f"  rows for {DAY} after each (g), as (silver orders, gold fact_orders, daily_sales orders): "
          f"{sorted(counts)} ({'consistent' if correct else 'WRONG: gold does not carry the day'})")  # fmt: skip
    print(
        f"  {ROUNDS} rounds of (a), (g) and (e) [swapped every other round], (a): gold steps from the event log"
    )
    print(*gold_round_lines(rounds), sep="\n")
    print(*gold_summary_lines(rounds), sep="\n")
    _print_overhead([(timings[r.run_id], r.output) for _, k, r in pending if k == "empty"], parse_split)
    print(f"  gold day bench ends: {load_average()}")
    return correct


def _print_overhead(empty_runs: Sequence[tuple[Mapping[str, StepTiming], str]], parse_split: tuple) -> None:
    """Where the empty day's gold time goes, per step, median over the rounds."""
    print("  fixed overhead by step (empty day, medians of the rounds, s):")
    print(f"    {'step':16} {'total':>7} {'dagster before dbt':>19} {'dbt start-up+parse':>19} "
          f"{'dbt run':>8} {'after dbt (events)':>19}")  # fmt: skip
    for step in GOLD_STEPS:
        parts = [
            breakdown(timings[step], dbt_run_seconds(output).get(step, 0.0))
            for timings, output in empty_runs
            if step in timings
        ]
        if not parts:
            print(f"    {step:16} not run")
            continue
        med = [statistics.median(getattr(p, f) for p in parts) for f in ("before_dbt", "dbt_startup_parse", "dbt_run", "after_dbt")]  # fmt: skip
        total = statistics.median(p.total for p in parts)
        print(f"    {step:16} {total:7.2f} {med[0]:19.2f} {med[1]:19.2f} {med[2]:8.2f} {med[3]:19.2f}")
    startup, full, partial = parse_split
    print(
        f"  `dbt parse` alone: start-up {startup:.2f} s, full parse {full:.2f} s, partial parse {partial:.2f} s "
        "(gold_daily always parses fully: its dbt vars change; the others parse fully whenever the "
        "warehouse path differs from the one `make manifest` parsed with, as in this bench)"
    )


def backfill_bench() -> bool:
    days = BACKFILL_DAYS
    if days > HISTORY_DAYS:
        landing = cached_landing(BACKFILL_START, days, BACKFILL_ORDERS, defect_rate=0.001)
    else:
        landing = cached_landing(BACKFILL_START, HISTORY_DAYS, BACKFILL_ORDERS, defect_rate=0.001)
    last = BACKFILL_START + timedelta(days=days - 1)
    print(f"Backfill bench starts: {load_average()}", flush=True)
    range_runs: list[float] = []
    single_runs: list[list[float]] = []
    rss = {"range": 0.0, "single": 0.0}
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-backfill-") as tmp_name:
        tmp = Path(tmp_name)
        env = instance_env(tmp, landing, tmp / "unused.duckdb")
        same = True
        for i in range(BACKFILL_ROUNDS):
            ranged, single = tmp / f"range{i}.duckdb", tmp / f"single{i}.duckdb"
            for kind in ("range", "single") if i % 2 == 0 else ("single", "range"):
                if kind == "range":
                    run = cli_run((BACKFILL_START, last), {**env, "SHOPFLOW_DUCKDB_PATH": str(ranged)}, "*")
                    range_runs.append(run.seconds)
                    rss["range"] = max(rss["range"], run.rss_mib)
                else:
                    single_runs.append([])
                    for d in range(min(SINGLE_DAYS, days)):
                        run = cli_run(
                            BACKFILL_START + timedelta(d), {**env, "SHOPFLOW_DUCKDB_PATH": str(single)}, "*"
                        )
                        single_runs[-1].append(run.seconds)
                        rss["single"] = max(rss["single"], run.rss_mib)
                print(f"  round {i + 1}: {kind} done, {load_average()}", flush=True)
            counts_range, counts_single = gold_row_counts(ranged), gold_row_counts(single)
            if days > SINGLE_DAYS:  # the single runs stopped early: nothing to compare
                counts_single = counts_range
            if counts_range != counts_single or not counts_range.get("fact_orders"):
                same = False
                print(f"  round {i + 1}: gold differs: range {counts_range} single {counts_single}")
            ranged.unlink()
            single.unlink()

    print(f"\nBackfill benchmark: {days} days x {BACKFILL_ORDERS:,} orders, {BACKFILL_START}...{last}, '*'")
    print(*backfill_lines(range_runs, single_runs, days), sep="\n")
    print(f"  peak RSS: range run {rss['range']:,.0f} MiB, single runs {rss['single']:,.0f} MiB")
    compared = "not compared (fewer single runs than days)" if days > SINGLE_DAYS else (
        "equal" if same else "DIFFERENT")  # fmt: skip
    print(f"  gold row counts per table, range run vs single runs: {compared} ({counts_range})")
    print(f"  backfill bench ends: {load_average()}")
    return same


def gold_bench() -> bool:
    day_ok = gold_day_bench()
    return backfill_bench() and day_ok
