"""File-arrival sensors, one per source, built from the registry.

Each tick compares the landing folder with the cursor: files whose size and mtime are unchanged
since they were last processed are skipped without reading them; a changed candidate is hashed,
and only a new hash (a new file, or a corrected one) marks its day as affected. A file is taken
only once complete: not a temp name, and either seen at the same size and mtime on the previous
tick or untouched for SETTLE_SECONDS. One run is requested per affected day, covering the
source's bronze asset and everything downstream of it, with a run_key built from the day and the
exact set of file hashes, so repeated ticks and daemon restarts never launch the same work twice.
A late master-data file (products, CRM customers, web accounts) needs nothing more: master data are
versioned history, and the days it changes are rebuilt by the stale_partitions sensor (stale.py).

A sensor's first tick (no cursor yet: just turned on, e.g. after `make demo`) would see every file
as new. It reads the warehouse once, read-only, and takes files whose path and hash bronze already
holds as done. If a run holds the write lock at that moment, the tick is skipped with that reason
and the cursor stays empty, so the next tick tries again and no file is lost.

Each sensor starts a named job, `ingest_<source>` (its bronze asset and everything downstream),
tagged with the source, so the Runs page says what ran and why.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from shopflow_assets.landing import scan_source
from shopflow_assets.lib.partitions import daily_partitions
from shopflow_assets.lib.policies import STATIC_REFERENCE
from shopflow_assets.lib.warehouse import LandingZoneResource, WarehouseLockedError, WarehouseResource
from shopflow_assets.sources import SOURCES, SourceSpec

SETTLE_SECONDS = 2.0
# How long a first tick waits for a run's write lock before skipping (ticks must stay short).
LOCK_WAIT_SECONDS = 5.0
# How often each sensor looks (seconds); part of the code location's shape, like the start date.
INTERVAL_SECONDS = int(os.environ.get("SHOPFLOW_SENSOR_INTERVAL_SECONDS", "30"))


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int
    sha256: str | None = None

    def same_stat(self, other: FileStamp | None) -> bool:
        return other is not None and (self.size, self.mtime_ns) == (other.size, other.mtime_ns)


def _load(cursor: str | None) -> tuple[dict[str, FileStamp], dict[str, FileStamp]]:
    state = json.loads(cursor) if cursor else {}
    done = {p: FileStamp(*v) for p, v in state.get("done", {}).items()}
    pending = {p: FileStamp(*v) for p, v in state.get("pending", {}).items()}
    return done, pending


def _dump(done: dict[str, FileStamp], pending: dict[str, FileStamp]) -> str:
    return json.dumps(
        {
            "done": {p: [f.size, f.mtime_ns, f.sha256] for p, f in sorted(done.items())},
            "pending": {p: [f.size, f.mtime_ns] for p, f in sorted(pending.items())},
        }
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def run_key(source: str, partition: str, hashes: dict[str, str]) -> str:
    files = hashlib.sha256(json.dumps(sorted(hashes.items())).encode()).hexdigest()[:16]
    return f"{source}:{partition}:{files}"


def evaluate(
    spec: SourceSpec,
    landing: Path,
    cursor: str | None,
    now: float | None = None,
    loaded: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[list[dg.RunRequest], str, list[str]]:
    """The run requests, the new cursor and the reasons files were passed over (pure: no Dagster
    context, so it is easy to test and a bad file can only ever become a reason).

    `loaded` is the (path, sha256) pairs bronze already holds: those files are done, not new."""
    now = time.time() if now is None else now
    done, pending = _load(cursor)
    loaded_paths = {path for path, _ in loaded}
    files, notes = scan_source(landing, spec)
    valid_days = set(daily_partitions.get_partition_keys())
    affected: set[str] = set()
    next_pending: dict[str, FileStamp] = {}
    current: dict[str, tuple[str, FileStamp]] = {}
    for f in files:
        rel = f.path.relative_to(landing).as_posix()
        try:
            stat = f.path.stat()
            seen = FileStamp(stat.st_size, stat.st_mtime_ns)
            if seen.same_stat(done.get(rel)):
                current[rel] = (f.partition_key, done[rel])
                continue
            if rel in loaded_paths and rel not in done:  # loaded before this sensor ever looked
                stamp = FileStamp(seen.size, seen.mtime_ns, _sha256(f.path))
                if (rel, stamp.sha256) in loaded:
                    current[rel] = (f.partition_key, stamp)
                    continue
            settled = now - stat.st_mtime_ns / 1e9 >= SETTLE_SECONDS
            if not (seen.same_stat(pending.get(rel)) or settled):
                next_pending[rel] = seen
                notes.append(f"{rel}: still being written (size or mtime changed since the last tick)")
                continue
            if f.partition_key not in valid_days:
                notes.append(
                    f"{rel}: {f.partition_key} is not a partition (yet): partitions run from "
                    f"{daily_partitions.start:%Y-%m-%d} to the last complete day"
                )
                continue
            stamp = FileStamp(seen.size, seen.mtime_ns, _sha256(f.path))
        except OSError as exc:  # vanished or unreadable between listing and reading: next tick
            notes.append(f"{rel}: {exc.strerror or exc}")
            continue
        previous = done.get(rel)
        if previous is None or previous.sha256 != stamp.sha256:
            affected.add(f.partition_key)
        current[rel] = (f.partition_key, stamp)

    requests = []
    for day in sorted(affected):
        hashes = {rel: fp.sha256 or "" for rel, (d, fp) in current.items() if d == day}
        requests.append(
            dg.RunRequest(
                run_key=run_key(spec.name, day, hashes),
                partition_key=day,
                tags={"shopflow/source": spec.name, "shopflow/files": str(len(hashes))},
            )
        )
    new_done = {rel: fp for rel, (_, fp) in current.items()}
    return requests, _dump(new_done, next_pending), notes


def loaded_files(warehouse: WarehouseResource, source: str) -> frozenset[tuple[str, str]]:
    """(path, sha256) of the files bronze holds for `source`, or rejected whole (loading them again
    gives the same result). Read-only: the daemon never takes the write lock. Raises
    WarehouseLockedError if a run holds the lock for longer than LOCK_WAIT_SECONDS."""
    if not warehouse.database.exists():
        return frozenset()
    with warehouse.connect(read_only=True, lock_timeout=LOCK_WAIT_SECONDS) as con:
        try:
            rows = con.execute(
                """SELECT source_file, file_sha256 FROM bronze._files WHERE source = $source
                   UNION
                   SELECT source_file, file_sha256 FROM quarantine.rejected_files
                   WHERE source = $source AND layer = 'bronze'""",
                {"source": source},
            ).fetchall()
        except duckdb.CatalogException:  # nothing loaded yet
            return frozenset()
    return frozenset((path, sha) for path, sha in rows if path and sha)


def file_job_name(spec: SourceSpec) -> str:
    return f"ingest_{spec.name}"


def build_file_job(spec: SourceSpec) -> dg.UnresolvedAssetJobDefinition:
    """The job a file sensor starts: the source's bronze asset and everything downstream of it."""
    return dg.define_asset_job(
        file_job_name(spec),
        selection=dg.AssetSelection.assets(dg.AssetKey(["bronze", spec.name])).downstream()
        | STATIC_REFERENCE,
        description=f"New or changed {spec.name} files: bronze/{spec.name} and everything downstream, per day.",
        tags={"shopflow/source": spec.name},
    )


def build_file_sensor(
    spec: SourceSpec, job: dg.UnresolvedAssetJobDefinition | None = None
) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{spec.name}_files",
        description=f"Starts {file_job_name(spec)} (bronze and everything downstream) for each day with new or "
        f"changed {spec.name} files.",
        job=job or build_file_job(spec),
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def _sensor(
        context: dg.SensorEvaluationContext, landing: LandingZoneResource, warehouse: WarehouseResource
    ) -> dg.SensorResult:
        loaded: frozenset[tuple[str, str]] = frozenset()
        if not context.cursor:  # first tick: what the warehouse holds already is not new
            try:
                loaded = loaded_files(warehouse, spec.name)
            except WarehouseLockedError:
                return dg.SensorResult(
                    skip_reason="first look: a run holds the warehouse, so which files are already "
                    "loaded cannot be read yet; trying again next tick"
                )
        requests, cursor, notes = evaluate(spec, landing.root, context.cursor, loaded=loaded)
        for note in notes:
            context.log.info(note)
        skip = None if requests else "; ".join(notes) or f"no new or changed {spec.name} files"
        return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason=skip)

    return _sensor


file_jobs: list[dg.UnresolvedAssetJobDefinition] = [build_file_job(spec) for spec in SOURCES.values()]
file_sensors: list[dg.SensorDefinition] = [
    build_file_sensor(spec, job) for spec, job in zip(SOURCES.values(), file_jobs, strict=True)
]
