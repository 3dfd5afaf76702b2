"""Failed runs and failed blocking checks become meta.alerts rows and (when configured) Slack posts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.alerts import SLACK_ENV
from shopflow_assets.resources import WarehouseResource, connect
from shopflow_assets.sensors import alert_on_run_failure
from shopflow_assets_tests.conftest import materialize, order_line, write_csv


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


def test_a_failed_run_is_recorded_and_posted(landing: Path, warehouse: Path, tmp_path: Path, slack) -> None:
    with dg.instance_for_test() as instance:
        result = _failed_run(landing, warehouse, tmp_path, instance)
        run = result.dagster_run
        (failure,) = [
            record.dagster_event
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run, dagster_event=failure,
            resources={"warehouse": WarehouseResource(path=str(warehouse))},
        ).for_run_failure()  # fmt: skip
        alert_on_run_failure(context)
    with connect(warehouse, read_only=True) as con:
        ((kind, run_id, partitions, summary),) = con.execute(
            "SELECT kind, run_id, partitions, summary FROM meta.alerts"
        ).fetchall()
    assert (kind, run_id, partitions) == ("run_failure", run.run_id, "2024-01-05")
    assert "silver_orders" in summary and "invalid quality rules file" in summary
    assert len(slack) == 1 and run.run_id in slack[0]["text"]


def test_a_failed_post_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from shopflow_assets.alerts import Alert, log, post_to_slack

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


def test_a_failed_blocking_check_raises_an_alert(
    landing: Path, warehouse: Path, tmp_path: Path, slack
) -> None:
    import yaml

    from shopflow_assets.quality.config import DEFAULT_RULES_FILE

    config = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    config["tables"]["orders"]["customer_id_not_null"]["action"] = "flag"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(config))
    write_csv(
        landing / "orders" / "orders_2024-01-05.csv", [order_line("O1", day="2024-01-05", customer_id="")]
    )
    materialize("bronze/orders*", landing, warehouse, "2024-01-05", rules=rules, raise_on_error=False)
    with connect(warehouse, read_only=True) as con:
        rows = con.execute("SELECT kind, asset_key, partitions, summary FROM meta.alerts").fetchall()
    assert [(k, a, p) for k, a, p, _ in rows] == [("quality_check", "silver/orders", "2024-01-05")]
    assert rows[0][3].startswith(
        "critical_rules: critical failures kept in silver: 2024-01-05 customer_id_not_null"
    )
    assert len(slack) == 1


def test_an_alert_raised_while_a_run_holds_the_warehouse_is_filed_by_the_next_writer(
    landing: Path, warehouse: Path, tmp_path: Path, slack
) -> None:
    import subprocess
    import sys

    from shopflow_assets.alerts import spool_path

    with dg.instance_for_test() as instance:
        result = _failed_run(landing, warehouse, tmp_path, instance)
        run = result.dagster_run
        (failure,) = [
            r.dagster_event for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        holder = subprocess.Popen(  # another process, as the next queued run would be, holds the write lock
            [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
             "print('locked', flush=True); time.sleep(120)", str(warehouse)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout.readline().strip() == "locked"
            context = dg.build_run_status_sensor_context(
                sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run, dagster_event=failure,
                resources={"warehouse": WarehouseResource(path=str(warehouse))},
            ).for_run_failure()  # fmt: skip
            alert_on_run_failure(context)  # waits briefly for the lock, then spools
        finally:
            holder.kill()
            holder.wait()
    assert len(slack) == 1  # posted without waiting for the warehouse
    assert spool_path(warehouse).exists()
    write_csv(landing / "orders" / "orders_2024-01-06.csv", [order_line("O2", day="2024-01-06")])
    assert materialize("bronze/orders", landing, warehouse, "2024-01-06").success  # the next writer
    assert not spool_path(warehouse).exists()
    with connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT kind, run_id FROM meta.alerts").fetchall() == [("run_failure", run.run_id)]


SECRET = "SECRET456"


@pytest.fixture
def warnings_of_alerts():
    """The messages shopflow_assets.alerts logs while the test runs."""
    import logging

    from shopflow_assets.alerts import _checked, log

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
    from shopflow_assets.alerts import Alert, SlackWebhookError, post_to_slack, validate_webhook

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
    from shopflow_assets.alerts import Alert, post_to_slack

    monkeypatch.setenv(SLACK_ENV, f"http://127.0.0.1:9/services/T000/B000/{SECRET}")
    assert post_to_slack(Alert("run_failure", "r1", "job", "2024-01-01", "boom")) is False
    assert warnings_of_alerts == ["could not post alert to Slack: Connection refused"]


def test_partition_labels_name_the_days_inclusively_like_dagster() -> None:
    from datetime import date

    from shopflow_assets.alerts import partition_label, partitions_of

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
