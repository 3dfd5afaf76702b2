"""Customer matching on a crafted set: email-only, phone-only, name-only and transitive matches,
survivor choice, and keys that stay stable across re-runs and across days. The tables are versioned:
the state as of a day is the versions valid on it."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import materialize, write_json
from shopflow_assets_tests.test_silver_rules import account, customers_table

DAY1, DAY2 = "2024-03-01", "2024-03-02"

CRM = [
    # C1 ~ E1 by email (case differs); names differ so the link is email only
    {"customer_id": "C1", "first_name": "Anna", "last_name": "Berg", "email": "anna.berg@x.com",
     "phone": "0301000001", "country": "DE", "city": "Berlin", "registration_date": "2020-01-01",
     "customer_tier": "gold"},
    # C2 ~ E2 by phone digits only
    {"customer_id": "C2", "first_name": "Ben", "last_name": "Cole", "email": "ben@x.com",
     "phone": "+49 30 2000002", "country": "DE", "registration_date": "2021-01-01"},
    # C3 ~ E3 by full name only (case differs)
    {"customer_id": "C3", "first_name": "Cara", "last_name": "Diaz", "email": "cara@x.com",
     "phone": "0303000003", "registration_date": "2022-01-01"},
    # C4 ~ E4 (email) and E4 ~ C5 (phone): one person, transitively
    {"customer_id": "C4", "first_name": "Dan", "last_name": "Eck", "email": "dan@x.com", "phone": None,
     "registration_date": "2019-05-05"},
    {"customer_id": "C5", "first_name": "Dora", "last_name": "Eck", "email": "dora@x.com",
     "phone": "0305000005", "country": "DE", "city": "Bonn", "registration_date": "2018-05-05",
     "customer_tier": "silver"},
    # C6: nobody else
    {"customer_id": "C6", "first_name": "Finn", "last_name": "Gold", "email": "finn@x.com",
     "phone": "0306000006", "registration_date": "2023-01-01"},
]  # fmt: skip
WEB = [
    account("E1", "A.", "Berg", "ANNA.BERG@X.COM", "0301999999", "2023-01-01T00:00:00Z"),
    account("E2", "B.", "Cole", "bcole@web.de", "(49) 30-200 0002", "2023-01-01T00:00:00Z"),
    account("E3", "CARA", "DIAZ", "cd@web.de", "0303999999", "2023-01-01T00:00:00Z"),
    account("E4", "D.", "Eck", "Dan@X.com", "030-500-0005", "2023-01-01T00:00:00Z"),
]
LATE_WEB = [account("E6", "F.", "Gold", "FINN@x.com", None, "2024-03-02T08:00:00Z")]


def _land(landing: Path) -> None:
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    pq.write_table(customers_table(CRM), landing / "customers" / f"customers_{DAY1}.parquet")
    write_json(landing / "accounts" / f"accounts_{DAY1}.json", {"accounts": WEB})
    write_json(landing / "accounts" / f"accounts_{DAY2}.json", {"accounts": LATE_WEB})


def _q(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def as_of(day: str) -> str:
    """The versions valid on `day` (half-open [valid_from, valid_to))."""
    return f"valid_from <= DATE '{day}' AND (valid_to IS NULL OR DATE '{day}' < valid_to)"


def _clusters(warehouse: Path, day: str) -> dict[str, list[str]]:
    rows = _q(warehouse, f"SELECT customer_key, list(source_id ORDER BY source_id) FROM silver.customer_id_map "
                         f"WHERE {as_of(day)} GROUP BY 1")  # fmt: skip
    return {min(ids): ids for _, ids in rows}


def test_matching_survivors_and_duplicates(landing: Path, warehouse: Path) -> None:
    _land(landing)
    assert materialize("*", landing, warehouse, DAY1).success
    assert _clusters(warehouse, DAY1) == {
        "C1": ["C1", "E1"], "C2": ["C2", "E2"], "C3": ["C3", "E3"], "C4": ["C4", "C5", "E4"], "C6": ["C6"],
    }  # fmt: skip
    assert _q(warehouse, f"SELECT kept_id, merged_ids, match_reason, source_systems FROM silver.customer_duplicates "
                         f"WHERE {as_of(DAY1)} ORDER BY 1") == [
        ("C1", ["E1"], "email", ["crm", "webshop"]),
        # C5 has the most fields (country, city, tier); C4/E4 link by email, E4/C5 by phone
        ("C5", ["C4", "E4"], "email+phone", ["crm", "webshop"]),
        # the web accounts carry city and opt-in where these CRM profiles have neither city nor tier
        ("E2", ["C2"], "phone", ["crm", "webshop"]),
        ("E3", ["C3"], "name", ["crm", "webshop"]),
    ]  # fmt: skip
    assert _q(warehouse, f"SELECT source_id, first_name, last_name, email, record_count FROM silver.customers "
                         f"WHERE {as_of(DAY1)} ORDER BY 1") == [
        ("C1", "Anna", "Berg", "anna.berg@x.com", 2),
        ("C5", "Dora", "Eck", "dora@x.com", 3),
        ("C6", "Finn", "Gold", "finn@x.com", 1),
        ("E2", "B.", "Cole", "bcole@web.de", 2),
        ("E3", "Cara", "Diaz", "cd@web.de", 2),
    ]  # fmt: skip


def test_keys_are_stable_across_reruns_and_days(landing: Path, warehouse: Path) -> None:
    _land(landing)
    assert materialize("*", landing, warehouse, DAY1).success
    day1 = dict(
        _q(
            warehouse,
            f"SELECT source_id, customer_key FROM silver.customer_id_map WHERE {as_of(DAY1)}",
        )
    )
    assert materialize("*", landing, warehouse, DAY1).success  # re-run: same keys
    assert dict(_q(warehouse, f"SELECT source_id, customer_key FROM silver.customer_id_map "
                              f"WHERE {as_of(DAY1)}")) == day1  # fmt: skip
    assert materialize("*", landing, warehouse, DAY2).success  # E6 arrives and joins C6's person
    day2 = dict(
        _q(
            warehouse,
            f"SELECT source_id, customer_key FROM silver.customer_id_map WHERE {as_of(DAY2)}",
        )
    )
    assert day2 == {**day1, "E6": day1["C6"]}
    assert _clusters(warehouse, DAY2)["C6"] == ["C6", "E6"]
    assert len(set(day1.values())) == 5


def test_a_late_record_joins_a_person_without_changing_any_key(landing: Path, warehouse: Path) -> None:
    """Days 1 and 2 built, then a CRM record for day 1 arrives late and matches Anna (C1/E1) by
    phone: it takes Anna's key from day 1 on, and every other id map version stays exactly as it
    was. A person's key is their earliest-delivered record's (first delivery day, then source
    system, then id), so records that join never change it."""
    _land(landing)
    assert materialize("*", landing, warehouse, DAY1, DAY2).success
    versions = (
        "SELECT source_id, customer_key, valid_from::VARCHAR, valid_to::VARCHAR FROM silver.customer_id_map"
    )
    before = _q(warehouse, versions)
    late = [{"customer_id": "C7", "first_name": "Annie", "last_name": "B.", "email": "annie@y.com",
             "phone": "030-199-9999", "registration_date": "2024-01-01"}]  # fmt: skip
    pq.write_table(customers_table(late), landing / "customers" / f"customers_{DAY1}_late.parquet")
    assert materialize("bronze/customers*", landing, warehouse, DAY1).success
    for day in (DAY1, DAY2):
        assert _clusters(warehouse, day)["C1"] == ["C1", "C7", "E1"]
    (anna,) = {k for s, k, *_ in before if s == "C1"}
    assert sorted(_q(warehouse, versions)) == sorted([*before, ("C7", anna, DAY1, None)])
