"""`shopflow quality-report` on a crafted warehouse: real bronze + silver runs, the real executable.

Eight days are landed; the last one (DAY) has orders and customers that fail known rules, the day
before (PREVIOUS) one flagged order, the rest are clean. Every expected number below is computed
from the crafted records and rules.yaml, not from the report code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets.quality.config import SEVERITY_ORDER, load_quality_config
from shopflow_assets_tests.conftest import materialize, order_line, write_csv, write_json

SHOPFLOW = Path(sys.executable).parent / "shopflow"
DAYS = [(date(2024, 3, 1) + timedelta(days=i)).isoformat() for i in range(8)]
DAY, PREVIOUS = DAYS[-1], DAYS[-2]
TABLES = ["products", "customers", "orders"]  # the registry order of the tables delivered here
CONFIG = load_quality_config()


@dataclass(frozen=True)
class Rec:
    """A crafted record and the (status, rule) failures it must produce."""

    key: str
    fields: dict[str, str] = field(default_factory=dict)
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def rejected(self) -> bool:
        return any(status == "rejected" for status, _ in self.failures)


REJECT, FLAG = "rejected", "flagged"
DAY_ORDERS = [
    Rec("C01"),
    Rec("C02", {"customer_id": ""}, ((REJECT, "customer_id_not_null"),)),
    Rec("C03", {"quantity": "0", "total": "0.00"}, ((REJECT, "quantity_range"),)),
    Rec("C04", {"status": "Shipped"}, ((FLAG, "status_allowed"),)),
    Rec("C05", {"status": "Shipped"}, ((FLAG, "status_allowed"),)),
    Rec("C06", {"total": "99.00"}, ((FLAG, "total_matches"),)),
    Rec("C07", {"status": "Shipped", "payment_method": "crypto"},
        ((FLAG, "payment_method_allowed"), (FLAG, "status_allowed"))),
    Rec("C08", {"payment_method": "crypto"}, ((FLAG, "payment_method_allowed"),)),
    Rec("C09", {"payment_method": "crypto"}, ((FLAG, "payment_method_allowed"),)),
    Rec("C10", {"payment_method": "crypto"}, ((FLAG, "payment_method_allowed"),)),  # 4/16: at the low threshold
    Rec("C11", {"product_id": "P9"}, ((FLAG, "unknown_product"),)),
    *(Rec(f"C{i}") for i in range(12, 17)),
]  # fmt: skip
DAY_CUSTOMERS = [
    Rec("CUST1"),
    Rec("CUST2"),
    Rec("CUST3", {"customer_tier": "diamond"}, ((FLAG, "tier_allowed"),)),
]
PRODUCTS = [Rec("P1"), Rec("P2")]


def records(day: str) -> dict[str, list[Rec]]:
    if day == DAY:
        return {"products": PRODUCTS, "customers": DAY_CUSTOMERS, "orders": DAY_ORDERS}
    # order ids are unique across days: the same id on two days is a cross-day duplicate
    orders = [Rec(f"B{day[5:]}-{i:02d}") for i in range(1, 11)]
    if day == PREVIOUS:
        orders[2] = Rec(orders[2].key, {"status": "lost"}, ((FLAG, "status_allowed"),))
    return {"products": PRODUCTS, "customers": [Rec("CUST1"), Rec("CUST2")], "orders": orders}


# ---------- landing files ----------


def customers_parquet(path: Path, recs: list[Rec]) -> None:
    columns = ["customer_id", "first_name", "last_name", "email", "phone", "country", "city",
               "registration_date", "customer_tier", "preferred_categories", "updated_at"]  # fmt: skip
    rows = [
        {"customer_id": r.key, "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"c{i}@shop.com",
         "phone": f"030555000{i}", "country": "DE", "city": "Berlin", "registration_date": "2023-01-01",
         "customer_tier": "gold", "preferred_categories": [], **r.fields}
        for i, r in enumerate(recs)
    ]  # fmt: skip
    schema = pa.schema(
        [(c, pa.list_(pa.string()) if c == "preferred_categories" else pa.string()) for c in columns]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in columns}, schema=schema), path)


def land(landing: Path, day: str, orders: list[Rec] | None = None) -> None:
    recs = records(day)
    write_json(landing / "products" / f"products_{day}.json", {"snapshot_date": day, "products": [
        {"product_id": p.key, "name": "Tee", "category": "Food", "cost_price": 5, "retail_price": 10}
        for p in recs["products"]]})  # fmt: skip
    customers_parquet(landing / "customers" / f"customers_{day}.parquet", recs["customers"])
    lines = [
        order_line(o.key, day=day, **{"customer_id": "CUST1", "product_id": "P1", **o.fields})
        for o in (orders if orders is not None else recs["orders"])
    ]
    write_csv(landing / "orders" / f"orders_{day}.csv", lines)


@pytest.fixture(scope="module")
def warehouse_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs touch DAY, so the report must pick the latest rows: a first load of an older orders
    file, a re-run with the corrected file, then the orders reconciliation check on its own."""
    root = tmp_path_factory.mktemp("quality_report")
    landing, warehouse = root / "landing", root / "warehouse" / "shopflow.duckdb"
    for day in DAYS:
        land(landing, day)
    superseded = [Rec("C01"), Rec("C02", {"quantity": "5000", "total": "50000.00"})]
    land(landing, DAY, orders=superseded)
    assert materialize("*", landing, warehouse, DAYS[0], DAY).success
    land(landing, DAY)
    assert materialize("*", landing, warehouse, DAY).success
    assert materialize("silver/orders", landing, warehouse, DAY, check="reconciliation").success
    with connect(warehouse, read_only=True) as con:
        (runs,) = con.execute(
            "SELECT count(DISTINCT run_id) FROM meta.quality_results WHERE table_name = 'orders' "
            "AND partition_date = ?",
            [DAY],
        ).fetchone()
    assert runs == 3
    return warehouse


def shopflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SHOPFLOW), *args], capture_output=True, text=True, timeout=120)


# ---------- expected figures, from the crafted records ----------


def table_stats(recs: list[Rec]) -> dict[str, int]:
    rejected = sum(r.rejected for r in recs)
    flagged = sum(bool(r.failures) and not r.rejected for r in recs)
    return {"rows_checked": len(recs), "rows_passing": sum(not r.failures for r in recs),
            "rows_rejected": rejected, "rows_flagged": flagged}  # fmt: skip


def score(day: str, table: str | None = None) -> float:
    stats = [table_stats(recs) for t, recs in records(day).items() if table in (None, t)]
    return sum(s["rows_passing"] for s in stats) / sum(s["rows_checked"] for s in stats)


def expected_rules() -> dict[tuple[str, str], dict]:
    out = {}
    for table, recs in records(DAY).items():
        checked = len(recs)
        for rule, setting in CONFIG.rules(table).items():
            failed = sum(rule == r for rec in recs for _, r in rec.failures)
            out[(table, rule)] = {"passed": checked - failed, "failed": failed, "score": (checked - failed) / checked,
                                  "severity": setting.severity, "action": setting.action,
                                  "rate": failed / checked, "threshold": CONFIG.threshold(setting)}  # fmt: skip
        out[(table, "reconciliation")] = {"passed": checked, "failed": 0, "score": 1.0, "severity": "critical",
                                          "action": "check", "rate": 0.0, "threshold": 0.0}  # fmt: skip
    return out


def quarantined_by_critical(rule: dict) -> bool:
    """Records a critical rule rejected within its threshold are information; above it the rule is a
    CRITICAL alert, as the blocking critical_rules check fails (test_critical_threshold.py)."""
    return rule["severity"] == "critical" and rule["action"] == "reject" and rule["rate"] <= rule["threshold"]


def expected_quarantined() -> list[tuple[str, str, int]]:
    return [(t, rule, r["failed"]) for (t, rule), r in expected_rules().items()
            if quarantined_by_critical(r) and r["failed"]]  # fmt: skip


def expected_alerts() -> list[tuple[str, str, str, float, float]]:
    """(severity, table, rule, threshold, actual): breached rules, then tables below the minimum
    score (reported as high); most severe first, then table order, a table's rules before its score."""
    alerts = [(r["severity"], t, rule, r["threshold"], r["rate"])
              for (t, rule), r in expected_rules().items()
              if r["rate"] > r["threshold"]]  # fmt: skip
    alerts += [("high", t, "quality_score", CONFIG.min_quality_score, score(DAY, t))
               for t in TABLES if score(DAY, t) < CONFIG.min_quality_score]  # fmt: skip
    return sorted(
        alerts, key=lambda a: (SEVERITY_ORDER[a[0]], TABLES.index(a[1]), a[2] == "quality_score", a[2])
    )


def expected_failing() -> list[tuple[str, str, str, str]]:
    out = []
    for table in TABLES:
        recs = records(DAY)[table]
        out += [(table, s, rec.key, rule) for rec in recs for s, rule in rec.failures if s == REJECT]
        out += [(table, s, rec.key, rule) for rec in recs for s, rule in rec.failures if s == FLAG]
    return out


def least_squares_slope(points: list[tuple[int, float]]) -> float:
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


HISTORY = DAYS[-7:]
SLOPE = least_squares_slope([(i, score(d) * 100) for i, d in enumerate(HISTORY)])


def test_crafted_data_is_what_the_expectations_assume() -> None:
    """Guards the hand-made expectations: the day must exercise every alert severity and the cap."""
    assert [a[:3] for a in expected_alerts()] == [
        ("high", "customers", "quality_score"),
        ("high", "orders", "quantity_range"),
        ("high", "orders", "quality_score"),
        ("medium", "orders", "status_allowed"),
        ("low", "customers", "tier_allowed"),
    ]
    assert expected_quarantined() == [("orders", "customer_id_not_null", 1)]
    # 4 of 16 is exactly the low threshold: failing, but not breached
    assert expected_rules()[("orders", "payment_method_allowed")]["rate"] == 0.25
    assert len([f for f in expected_failing() if f[0] == "orders"]) == 11
    assert SLOPE < -0.5


# ---------- the report ----------


def test_json_report_has_the_exact_figures(warehouse_db: Path) -> None:
    proc = shopflow("quality-report", "--date", DAY, "--json", "--db", str(warehouse_db))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["day"] == DAY and report["previous_day"] == PREVIOUS

    tables = {t["table"]: t for t in report["tables"]}
    assert list(tables) == TABLES
    for name in TABLES:
        counts = {
            k: tables[name][k] for k in ("rows_checked", "rows_passing", "rows_rejected", "rows_flagged")
        }
        assert counts == table_stats(records(DAY)[name])
        assert tables[name]["quality_score"] == pytest.approx(score(DAY, name))
        assert tables[name]["change_pp"] == pytest.approx((score(DAY, name) - score(PREVIOUS, name)) * 100)
    assert (tables["orders"]["rows_checked"], tables["orders"]["rows_passing"]) == (16, 6)

    overall = report["overall"]
    assert overall["rows_checked"] == 21 and overall["rows_passing"] == 10
    assert overall["quality_score"] == pytest.approx(score(DAY))
    assert overall["change_pp"] == pytest.approx((score(DAY) - score(PREVIOUS)) * 100)

    rules = {(r["table"], r["rule"]): r for r in report["rules"]}
    expected = expected_rules()
    # one row per rule, however many runs wrote rows for the day (orders: three runs)
    assert len(report["rules"]) == len(expected) and set(rules) == set(expected)
    for key, want in expected.items():
        got = rules[key]
        assert (got["passed"], got["failed"], got["severity"], got["action"]) == (
            want["passed"], want["failed"], want["severity"], want["action"]), key  # fmt: skip
        assert got["score"] == pytest.approx(want["score"]), key
        assert got["name"]

    failing = [(f["table"], f["status"], f["key"], f["rule"]) for f in report["failing_records"]]
    assert failing == expected_failing()
    details = {(f["key"], f["rule"]): f["detail"] for f in report["failing_records"]}
    assert "customer_id = null" in details[("C02", "customer_id_not_null")]
    assert "quantity = 0" in details[("C03", "quantity_range")]
    assert details[("C04", "status_allowed")] == "status = shipped"
    assert "total = 99.00" in details[("C06", "total_matches")]
    assert details[("C11", "unknown_product")] == "product_id = P9"
    assert details[("CUST3", "tier_allowed")] == "customer_tier = diamond"
    assert {f["severity"] for f in report["failing_records"] if f["rule"] == "status_allowed"} == {"medium"}

    alerts = [(a["severity"], a["table"], a["rule"], a["threshold"], a["actual"]) for a in report["alerts"]]
    assert [a[:3] for a in alerts] == [a[:3] for a in expected_alerts()]
    for got, want in zip(alerts, expected_alerts(), strict=True):
        assert got[3:] == pytest.approx(want[3:])
    assert [(q["table"], q["rule"], q["records"]) for q in report["quarantined_by_critical_rules"]] == (
        expected_quarantined()
    )
    assert "critical" not in {a["severity"] for a in report["alerts"]}

    history = report["history"]
    assert [d["day"] for d in history["days"]] == HISTORY  # DAYS[0] is the eighth day back: not shown
    assert [d["quality_score"] for d in history["days"]] == pytest.approx([score(d) for d in HISTORY])
    assert history["slope_pp_per_day"] == pytest.approx(SLOPE)
    assert history["trend"] == "declining"


def _section(text: str, title: str) -> list[str]:
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in text.split("\n\n")}
    return next(lines for head, lines in blocks.items() if head.startswith(title))


def test_text_report_shows_the_same_figures(warehouse_db: Path) -> None:
    proc = shopflow("quality-report", "--date", DAY, "--db", str(warehouse_db))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout

    def change(day_score: float, before: float) -> list[str]:
        return [f"{day_score:.2%}", f"{(day_score - before) * 100:+.2f}", "pp"]

    scores = {line.split()[0]: line.split()[1:] for line in _section(text, "Records analysed")[2:]}
    for name in TABLES:
        s = table_stats(records(DAY)[name])
        assert scores[name] == [str(s["rows_checked"]), str(s["rows_passing"]), str(s["rows_rejected"]),
                                str(s["rows_flagged"]), *change(score(DAY, name), score(PREVIOUS, name))]  # fmt: skip
    assert scores["overall"] == ["21", "10", "2", "9", *change(score(DAY), score(PREVIOUS))]

    lines = _section(text, "Rules")[2:]
    rules = {tuple(line.split()[:2]): line.split() for line in lines}
    assert len(lines) == len(rules) == len(expected_rules())
    for (table, rule), want in expected_rules().items():
        got = rules[(table, rule)]
        assert got[-5:] == [str(want["passed"]), str(want["failed"]), f"{want['score']:.2%}", want["severity"],
                            want["action"]], (table, rule)  # fmt: skip

    failing = _section(text, "Failing records")
    assert "orders: 2 rejected record(s), 9 flag(s) on records kept in silver" in failing
    listed = [
        line.split()[:3] for line in failing if line.startswith("  ") and line.split()[0] in (REJECT, FLAG)
    ]
    # customers' one entry, then the first 10 of the 11 orders entries (orders is the last table)
    assert listed == [[s, k, r] for _, s, k, r in expected_failing()][:-1]
    assert "  ... and 1 more" in failing

    alerts = [line.split()[:3] for line in _section(text, "Alerts (5)")[2:]]
    assert alerts == [[s.upper(), t, r] for s, t, r, _, _ in expected_alerts()]
    assert "failure rate 6.25% (1 of 16) above the high threshold 5.00%" in text
    assert "quality score 37.50% below the minimum 90.00%" in text
    assert "CRITICAL" not in text
    assert "Info: 1 record(s) quarantined by critical rules (orders.customer_id_not_null 1)" in text

    history = _section(text, "Overall score, last 7 day(s)")
    assert f"(trend: declining, {SLOPE:+.2f} pp/day)" in text
    assert [line.split()[0] for line in history] == HISTORY
    filled = round(score(DAY) * 40)
    assert history[-1] == f"{DAY}  |{'#' * filled}{'.' * (40 - filled)}|   47.62%"


def test_first_day_has_no_previous_day_and_no_trend(warehouse_db: Path) -> None:
    report = json.loads(
        shopflow("quality-report", "--date", DAYS[0], "--json", "--db", str(warehouse_db)).stdout
    )
    assert report["overall"]["quality_score"] == 1.0 and report["overall"]["change_pp"] is None
    assert report["alerts"] == [] and report["failing_records"] == []
    assert report["history"]["trend"] == "insufficient data"


@pytest.mark.parametrize("as_json", [False, True])
def test_day_without_quality_data_is_one_line_and_exit_1(warehouse_db: Path, as_json: bool) -> None:
    proc = shopflow(
        "quality-report", "--date", "2024-03-20", "--db", str(warehouse_db), *(["--json"] * as_json)
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"No quality results for 2024-03-20 in {warehouse_db}: materialize the silver assets for that day."
    ]


def test_missing_warehouse_is_one_line_and_exit_1(tmp_path: Path) -> None:
    proc = shopflow("quality-report", "--date", DAY, "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "No warehouse at" in proc.stderr
    assert not (tmp_path / "none.duckdb").exists()
