"""Failed runs and failed blocking checks become meta.alerts rows and (when configured) Slack posts, by
the alert sensor evaluated tick by tick as the daemon does; never by the assets themselves."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.defs.automation.alerts import SLACK_ENV, alert_on_run_failure
from shopflow_assets.lib.warehouse import WarehouseResource, connect
from shopflow_assets_tests.conftest import materialize, order_line, write_csv, write_lock_held


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch):
    """A local webhook endpoint that records what it receives."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(SLACK_ENV, f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


ALL_FAILURES = json.dumps({"after": -1, "pending": []})  # a cursor from before any run


def tick(instance: dg.DagsterInstance, warehouse: Path, cursor: str | None = ALL_FAILURES) -> dg.SensorResult:
    """One evaluation of the alert sensor, as the daemon's tick would run it; returns its result."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource(path=str(warehouse))}
    ) as context:
        return alert_on_run_failure(context)


def pending(result: dg.SensorResult) -> list[tuple[str, str | None]]:
    return [(a["kind"], a["asset_key"]) for a in json.loads(result.cursor)["pending"]]


def _alerts(warehouse: Path) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "SELECT kind, run_id, asset_key, partitions, summary FROM meta.alerts ORDER BY kind"
        ).fetchall()


def _failed_run(landing: Path, warehouse: Path, tmp_path: Path, instance) -> dg.ExecuteInProcessResult:
    write_csv(landing / "orders" / "orders_2024-01-05.csv", [order_line("O1", day="2024-01-05")])
    broken = tmp_path / "rules.yaml"
    broken.write_text("thresholds: {critical: 0}\n")  # missing severities and tables: a config error
    result = materialize(
        "bronze/orders*",
        landing,
        warehouse,
        "2024-01-05",
        rules=broken,
        raise_on_error=False,
        instance=instance,
    )
    assert not result.success
    return result


def _blocked_run(landing: Path, warehouse: Path, tmp_path: Path, instance) -> dg.ExecuteInProcessResult:
    """A run that fails on the blocking critical_rules check of silver/orders (an order without customer)."""
    import yaml

    from shopflow_assets.quality.config import DEFAULT_RULES_FILE

    config = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    config["tables"]["orders"]["customer_id_not_null"]["action"] = "flag"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(config))
    write_csv(
        landing / "orders" / "orders_2024-01-05.csv", [order_line("O1", day="2024-01-05", customer_id="")]
    )
    result = materialize(
        "bronze/orders*",
        landing,
        warehouse,
        "2024-01-05",
        rules=rules,
        raise_on_error=False,
        instance=instance,
    )
    assert not result.success
    return result


def test_a_failed_run_is_recorded_and_posted(landing: Path, warehouse: Path, tmp_path: Path, slack) -> None:
    with dg.instance_for_test() as instance:
        first = tick(instance, warehouse, cursor=None)  # the first tick only sets the cursor
        assert json.loads(first.cursor) == {"after": -1, "pending": []}
        run = _failed_run(landing, warehouse, tmp_path, instance).dagster_run
        assert not warehouse.with_name(warehouse.name + ".alerts.jsonl").exists()  # no spool file
        second = tick(instance, warehouse, first.cursor)
        assert pending(second) == []
        assert tick(instance, warehouse, second.cursor).cursor == second.cursor  # nothing new
    ((kind, run_id, asset_key, partitions, summary),) = _alerts(warehouse)
    assert (kind, run_id, asset_key, partitions) == ("run_failure", run.run_id, None, "2024-01-05")
    assert "silver_orders" in summary and "invalid quality rules file" in summary
    assert len(slack) == 1 and run.run_id in slack[0]["text"]


def test_failures_from_before_the_first_tick_are_not_alerted(
    landing: Path, warehouse: Path, tmp_path: Path, slack
) -> None:
    with dg.instance_for_test() as instance:
        _failed_run(landing, warehouse, tmp_path, instance)
        first = tick(instance, warehouse, cursor=None)
        assert json.loads(first.cursor)["after"] > -1
        assert pending(tick(instance, warehouse, first.cursor)) == []
    assert slack == []
    with connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.alerts").fetchone() == (0,)


def test_a_failed_post_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from shopflow_assets.defs.automation.alerts import Alert, log, post_to_slack

    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    log.addHandler(handler)
    try:
        monkeypatch.setenv(SLACK_ENV, "http://127.0.0.1:9/nothing-listens-here")
        assert post_to_slack(Alert("run_failure", "r1", "job", "2024-01-01", "boom")) is False
    finally:
        log.removeHandler(handler)
    assert len(messages) == 1 and messages[0].startswith("could not post alert to Slack")


def test_a_failed_blocking_check_raises_an_alert_from_the_sensor_not_the_asset(
    landing: Path, warehouse: Path, tmp_path: Path, slack
) -> None:
    with dg.instance_for_test() as instance:
        run = _blocked_run(landing, warehouse, tmp_path, instance).dagster_run
        assert _alerts(warehouse) == [] and slack == []  # the asset wrote and posted nothing
        tick(instance, warehouse)
    (check, failure) = sorted(_alerts(warehouse), key=lambda a: a[0])
    assert check[:4] == ("quality_check", run.run_id, "silver/orders", "2024-01-05")
    assert check[4].startswith("critical_rules: ") and "2024-01-05 customer_id_not_null" in check[4]
    assert failure[:4] == ("run_failure", run.run_id, None, "2024-01-05")
    assert sorted(p["shopflow"]["kind"] for p in slack) == ["quality_check", "run_failure"]


def test_alerts_raised_while_a_writer_holds_the_warehouse_are_recorded_once_after_it_lets_go(
    landing: Path, warehouse: Path, tmp_path: Path, slack
) -> None:

    with dg.instance_for_test() as instance:
        run = _blocked_run(landing, warehouse, tmp_path, instance).dagster_run
        with write_lock_held(warehouse):  # another process, as the next queued run would be
            locked = tick(instance, warehouse)  # waits briefly for the lock, then keeps the alerts
        assert sorted(pending(locked)) == [("quality_check", "silver/orders"), ("run_failure", None)]
        assert len(slack) == 2  # posted at once, without waiting for the warehouse
        assert _alerts(warehouse) == []
        released = tick(instance, warehouse, locked.cursor)
        assert pending(released) == []
        again = tick(instance, warehouse, released.cursor)
        retried = tick(instance, warehouse, locked.cursor)  # a tick whose cursor was lost runs again
    assert pending(again) == [] and pending(retried) == []
    assert sorted((kind, run_id) for kind, run_id, *_ in _alerts(warehouse)) == [
        ("quality_check", run.run_id),
        ("run_failure", run.run_id),
    ]
    assert len(slack) == 2  # nothing posted twice by the ticks that followed the first


def test_failed_partitions_are_named_as_a_range_or_a_list() -> None:
    from shopflow_assets.defs.automation.alerts import _partitions

    assert _partitions({"2024-01-02", "2024-01-01", "2024-01-03"}, "run") == "2024-01-01...2024-01-03"
    assert _partitions({"2024-01-01", "2024-01-03"}, "run") == "2024-01-01, 2024-01-03"
    assert _partitions({"2024-01-05"}, "run") == "2024-01-05"
    assert _partitions({None}, "2024-01-01...2024-01-02") == "2024-01-01...2024-01-02"


SECRET = "SECRET456"


@pytest.fixture
def warnings_of_alerts():
    """The messages shopflow_assets.defs.automation.alerts logs while the test runs."""
    import logging

    from shopflow_assets.defs.automation.alerts import _checked, log

    _checked.cache_clear()  # each value is validated (and warned about) once per process
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    log.addHandler(handler)
    yield messages
    log.removeHandler(handler)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"hooks.slack.com/services/T000/B000/{SECRET}", "it has no scheme"),
        (f"ftp://hooks.slack.com/services/{SECRET}", "its scheme is not http or https"),
        (f"https:///services/{SECRET}", "has no host"),
    ],
)
def test_a_malformed_webhook_turns_slack_off_with_one_warning_that_hides_it(
    monkeypatch: pytest.MonkeyPatch, warnings_of_alerts: list[str], url: str, reason: str
) -> None:
    from shopflow_assets.defs.automation.alerts import (
        Alert,
        SlackWebhookError,
        post_to_slack,
        validate_webhook,
    )

    with pytest.raises(SlackWebhookError) as raised:
        validate_webhook(url)
    assert SECRET not in str(raised.value) and "/services/T000" not in str(raised.value)
    monkeypatch.setenv(SLACK_ENV, url)
    alert = Alert("run_failure", "r1", "job", "2024-01-01", "boom")
    assert [post_to_slack(alert), post_to_slack(alert)] == [False, False]  # never raises
    (message,) = warnings_of_alerts  # validated once
    assert message.startswith(f"Slack alerts are off: {SLACK_ENV} ") and reason in message
    assert SECRET not in message


def test_an_unreachable_webhook_is_logged_without_its_secret(
    monkeypatch: pytest.MonkeyPatch, warnings_of_alerts: list[str]
) -> None:
    from shopflow_assets.defs.automation.alerts import Alert, post_to_slack

    monkeypatch.setenv(SLACK_ENV, f"http://127.0.0.1:9/services/T000/B000/{SECRET}")
    assert post_to_slack(Alert("run_failure", "r1", "job", "2024-01-01", "boom")) is False
    assert warnings_of_alerts == ["could not post alert to Slack: Connection refused"]


def test_partition_labels_name_the_days_inclusively_like_dagster() -> None:
    from datetime import date

    from shopflow_assets.lib.partitions import partition_label, partitions_of

    assert partition_label(date(2024, 1, 1), date(2024, 1, 3)) == "2024-01-01...2024-01-02"
    assert partition_label(date(2024, 1, 5), date(2024, 1, 6)) == "2024-01-05"
    range_tags = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-01-02",
    }
    assert partitions_of(range_tags) == "2024-01-01...2024-01-02"
    assert partitions_of({**range_tags, "dagster/asset_partition_range_end": "2024-01-01"}) == "2024-01-01"
    assert partitions_of({"dagster/partition": "2024-01-05"}) == "2024-01-05"
    assert partitions_of({}) == ""


def test_the_cursor_of_the_former_run_failure_sensor_carries_on_from_its_record() -> None:
    """A deployment whose daemon stored the run_failure_sensor's cursor under this name loses nothing."""
    from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

    from shopflow_assets.defs.automation.alerts import AlertCursor

    old = RunStatusSensorCursor(record_id=42, record_timestamp=None).to_json()
    assert AlertCursor.parse(old) == AlertCursor(42, [])
    assert AlertCursor.parse(None) is None
