"""The synthetic landing zone keeps its promises: contract, determinism, integrity, honest manifest.

Files are read back with the standard readers (csv, json, pyarrow, DuckDB) and checked with rules
written here, independently of the generator's code: a defect the manifest lists must be found in
the file, and a record the manifest does not list must be clean.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from shopflow_assets.generator import generate
from shopflow_assets.generator.cli import add_generate_parser
from shopflow_assets.generator.reference import all_text
from shopflow_assets.sources import SOURCES

START = date(2024, 1, 1)
BRONZE = {"wrong_column_count", "unparseable_number", "impossible_date"}
EXPECTED_KINDS = {
    "orders": {
        "wrong_column_count",
        "unparseable_number",
        "impossible_date",
        "null_key",
        "non_positive_quantity",
        "unknown_status",
        "total_mismatch",
        "duplicate_order_id",
    },
    "inventory": {
        "wrong_column_count",
        "unparseable_number",
        "impossible_date",
        "null_key",
        "unknown_status",
        "wrong_sign",
    },
    "products": {"unparseable_number", "impossible_date", "null_key", "retail_below_cost"},
    "customers": {"impossible_date", "null_key", "invalid_email"},
    "accounts": {"unparseable_number", "impossible_date", "null_key", "invalid_email"},
    "campaigns": {"unparseable_number", "impossible_date", "null_key"},
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MONEY = re.compile(r"^-?\d+\.\d{2}$")
INTEGER = re.compile(r"^-?\d+$")
STORES = {f"ST{i:03d}" for i in range(1, 21)}
ORDER_STATUSES = {"pending", "completed", "cancelled", "refunded"}
UPDATE_SIGNS = {"sale": -1, "damage": -1, "restock": 1, "return": 1, "adjustment": 0}


# --- reading files back ------------------------------------------------------------------------


def read_records(out: Path, entry: dict[str, Any], path: str | None = None) -> list[Any]:
    """Records of one file: CSV -> lists of fields (header checked), JSON/Parquet -> flat dicts."""
    file = out / (path or entry["path"])
    spec = SOURCES[entry["source"]]
    if spec.format == "csv":
        with file.open(encoding=entry["encoding"], newline="") as handle:
            rows = list(csv.reader(handle, delimiter=entry["delimiter"]))
        assert rows[0] == spec.column_names
        return rows[1:]
    if spec.format == "parquet":
        table = pq.read_table(file)
        assert table.column_names == spec.column_names
        return table.to_pylist()
    document = json.loads(file.read_text(encoding="utf-8"))
    records = document
    if spec.records_path != "$":
        records = document[spec.records_path.removeprefix("$.")]
        assert set(document) == {c.name for c in spec.document_columns} | {
            spec.records_path.removeprefix("$.")
        }
    return [flatten(record, entry["source"]) for record in records]


def flatten(record: dict[str, Any], source: str) -> dict[str, Any]:
    """A JSON record -> registry column names; fails if the nesting differs from the registry."""
    flat = {}
    paths = set()
    for column in SOURCES[source].columns:
        keys = (column.path or f"$.{column.name}").removeprefix("$.").split(".")
        node = record
        for key in keys:
            node = node[key]
        flat[column.name] = node
        paths.add(keys[0])
    assert set(record) == paths, f"unexpected fields {set(record) - paths}"
    return flat


def as_dict(row: list[str], source: str) -> dict[str, str]:
    return dict(zip(SOURCES[source].column_names, row, strict=True))


def entries(
    manifest: dict[str, Any], source: str, kinds: tuple[str, ...] = ("regular", "late", "corrected")
) -> list:
    return [f for f in manifest["files"] if f["source"] == source and f["kind"] in kinds]


def defects_by_file(manifest: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    found: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for d in manifest["defects"]:
        assert d["record_number"] not in found[d["file"]], "two defects on one record"
        found[d["file"]][d["record_number"]] = d
    return found


# --- rules, written independently of the generator -----------------------------------------------


def is_date(text: Any) -> bool:
    try:
        date.fromisoformat(str(text)[:10])
    except ValueError:
        return False
    return True


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def csv_problems(row: list[str], source: str, seen_keys: set[str]) -> dict[str, str | None]:
    """kind -> column for every rule a CSV record breaks."""
    spec = SOURCES[source]
    if len(row) != len(spec.column_names):
        return {"wrong_column_count": None}
    r = as_dict(row, source)
    problems: dict[str, str | None] = {}
    if source == "orders":
        for column in ("order_id", "customer_id", "product_id"):
            if r[column] == "":
                problems["null_key"] = column
        if not INTEGER.match(r["quantity"]):
            problems["unparseable_number"] = "quantity"
        for column in ("unit_price", "total"):
            if not MONEY.match(r[column]):
                problems["unparseable_number"] = column
        if not is_date(r["order_timestamp"]):
            problems["impossible_date"] = "order_timestamp"
        if r["status"] not in ORDER_STATUSES:
            problems["unknown_status"] = "status"
        if "unparseable_number" not in problems:
            quantity = int(r["quantity"])
            if quantity <= 0:
                problems["non_positive_quantity"] = "quantity"
            expected = (
                Decimal(quantity) * Decimal(r["unit_price"]) * (100 - Decimal(r["discount_percent"])) / 100
            )
            if expected.quantize(Decimal("0.01"), ROUND_HALF_UP) != Decimal(r["total"]):
                problems["total_mismatch"] = "total"
        if r["order_id"] and r["order_id"] in seen_keys:
            problems["duplicate_order_id"] = "order_id"
        seen_keys.add(r["order_id"])
    else:
        for column in ("update_id", "product_id", "store_id"):
            if r[column] == "":
                problems["null_key"] = column
        if not INTEGER.match(r["quantity_change"]):
            problems["unparseable_number"] = "quantity_change"
        if not is_date(r["update_timestamp"]):
            problems["impossible_date"] = "update_timestamp"
        if r["update_type"] not in UPDATE_SIGNS:
            problems["unknown_status"] = "update_type"
        elif "unparseable_number" not in problems:
            change, sign = int(r["quantity_change"]), UPDATE_SIGNS[r["update_type"]]
            if change == 0:
                problems["zero_quantity_change"] = "quantity_change"
            elif sign != 0 and (change > 0) != (sign > 0):
                problems["wrong_sign"] = "quantity_change"
    return problems


def json_problems(r: dict[str, Any], source: str) -> dict[str, str | None]:
    """kind -> column for every rule a JSON or Parquet record breaks."""
    spec = SOURCES[source]
    problems: dict[str, str | None] = {}
    if r[spec.key] is None:
        problems["null_key"] = spec.key
    numbers = {"products": ["cost_price"], "accounts": ["orders_count"], "campaigns": ["budget"]}.get(
        source, []
    )
    for column in numbers:
        if not is_number(r[column]):
            problems["unparseable_number"] = column
    dates = {
        "products": ["last_updated"],
        "customers": ["registration_date"],
        "accounts": ["registered"],
        "campaigns": ["start_date", "end_date"],
    }[source]
    for column in dates:
        if not is_date(r[column]):
            problems["impossible_date"] = column
    email = {"customers": "email", "accounts": "contact_email"}.get(source)
    if email and not EMAIL.match(r[email]):
        problems["invalid_email"] = email
    if source == "products" and is_number(r["cost_price"]) and r["retail_price"] < r["cost_price"]:
        problems["retail_below_cost"] = "cost_price"
    return problems


def check_defects(
    out: Path, entry: dict[str, Any], listed: dict[int, dict[str, Any]], path: str | None = None
) -> int:
    """Every record breaks exactly the rule the manifest lists for it, or none if it lists none.
    Returns the number of records."""
    source = entry["source"]
    records = read_records(out, entry, path)
    seen: set[str] = set()
    for number, record in enumerate(records, start=1):
        if SOURCES[source].format == "csv":
            problems = csv_problems(record, source, seen)
            key = record[0] or None
        else:
            problems = json_problems(record, source)
            key = record[SOURCES[source].key]
        defect = listed.get(number)
        if defect is None:
            assert problems == {}, f"{entry['path']} record {number} is dirty but not listed: {problems}"
            continue
        assert problems == {defect["kind"]: defect["column"]}, (
            f"{entry['path']} record {number}: {defect} vs {problems}"
        )
        assert defect["layer"] == ("bronze" if defect["kind"] in BRONZE else "silver")
        assert defect["record_key"] == key
        assert defect["source"] == source
    return len(records)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("landing")
    manifest = generate(out, START, days=4, orders_per_day=400, seed=7, defect_rate=0.03, late_files=True)
    return out, manifest


# --- tests ---------------------------------------------------------------------------------------


def test_manifest_is_the_written_file_and_lists_every_landing_file(
    landing: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = landing
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["params"] == {
        "days": 4,
        "defect_rate": 0.03,
        "late_files": True,
        "orders_per_day": 400,
        "seed": 7,
        "start": "2024-01-01",
    }
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    listed = {f["path"] for f in manifest["files"]}
    originals = {c["original_path"] for c in manifest["corrected_files"]}
    assert on_disk == listed | originals | {"_manifest.json"}
    name = re.compile(
        r"^(?P<source>[a-z]+)/(?P=source)_(?P<date>\d{4}-\d{2}-\d{2})(?:_late)?\.(csv|json|parquet)$"
    )
    for entry in manifest["files"]:
        m = name.match(entry["path"])
        assert m and m["source"] == entry["source"] and m["date"] == entry["partition"]
        assert entry["path"].endswith(SOURCES[entry["source"]].extensions)
    days = {f"2024-01-0{d}" for d in range(1, 5)}
    for source in SOURCES:
        assert {f["partition"] for f in entries(manifest, source, ("regular", "corrected"))} == days
    assert [f["path"] for f in manifest["files"]] == sorted(f["path"] for f in manifest["files"])
    assert manifest["defects"] == sorted(manifest["defects"], key=lambda d: (d["file"], d["record_number"]))


def test_record_counts_and_defects_match_the_files(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    listed = defects_by_file(manifest)
    assert manifest["defects"]
    for entry in manifest["files"]:
        assert check_defects(out, entry, listed.get(entry["path"], {})) == entry["records"]
    for corrected in manifest["corrected_files"]:
        original = {d["record_number"]: d for d in corrected["original_defects"]}
        assert original
        count = check_defects(
            out, _entry(manifest, corrected["path"]), original, path=corrected["original_path"]
        )
        assert count == corrected["original_records"]


def test_every_applicable_defect_kind_shows_up_in_big_files(landing: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = landing
    kinds_by_file: dict[str, set[str]] = defaultdict(set)
    for d in manifest["defects"]:
        kinds_by_file[d["file"]].add(d["kind"])
        assert d["kind"] in EXPECTED_KINDS[d["source"]]
    for entry in manifest["files"]:
        if entry["records"] >= 10 * len(EXPECTED_KINDS[entry["source"]]):
            assert kinds_by_file[entry["path"]] == EXPECTED_KINDS[entry["source"]], entry["path"]


def test_zero_defect_rate_gives_clean_files(tmp_path: Path) -> None:
    manifest = generate(tmp_path, START, days=2, orders_per_day=150, defect_rate=0.0, late_files=True)
    assert manifest["defects"] == []
    assert all(not c["original_defects"] for c in manifest["corrected_files"])
    for entry in manifest["files"]:
        assert check_defects(tmp_path, entry, {}) == entry["records"]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    params = {"start": START, "days": 3, "orders_per_day": 200, "late_files": True}
    first = generate(tmp_path / "a", seed=11, **params)
    second = generate(tmp_path / "b", seed=11, **params)
    other = generate(tmp_path / "c", seed=12, **params)
    assert first == second
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    a, c = _tree(tmp_path / "a"), _tree(tmp_path / "c")
    for path in (
        "orders/orders_2024-01-02.csv",
        "customers/customers_2024-01-01.parquet",
        "campaigns/campaigns_2024-01-01.json",
    ):
        assert a[path] != c[path]
    assert first["defects"] != other["defects"]


def test_more_days_leave_earlier_days_unchanged(tmp_path: Path) -> None:
    """Random streams are per day, so a longer run starts with the same files."""
    generate(tmp_path / "short", START, days=2, orders_per_day=100)
    generate(tmp_path / "long", START, days=3, orders_per_day=100)
    short, long = _tree(tmp_path / "short"), _tree(tmp_path / "long")
    for path, data in short.items():
        if path != "_manifest.json":
            assert long[path] == data, path


def _clean_records(out: Path, manifest: dict[str, Any], entry: dict[str, Any]) -> list[Any]:
    """The records of a file that the manifest does not list as defective."""
    dirty = {d["record_number"] for d in manifest["defects"] if d["file"] == entry["path"]}
    return [r for n, r in enumerate(read_records(out, entry), start=1) if n not in dirty]


def test_orders_reference_what_was_delivered_cleanly_by_their_day(
    landing: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = landing
    products: dict[str, dict[str, Any]] = {}
    crm: set[str] = set()
    accounts: set[str] = set()
    for day in sorted({f["partition"] for f in manifest["files"]}):
        today = [f for f in manifest["files"] if f["partition"] == day]
        by_source = defaultdict(list)
        for entry in today:
            by_source[entry["source"]].append(entry)
        for entry in by_source["products"]:
            products.update({r["product_id"]: r for r in _clean_records(out, manifest, entry)})
        crm |= {r["customer_id"] for e in by_source["customers"] for r in _clean_records(out, manifest, e)}
        accounts |= {r["id"] for e in by_source["accounts"] for r in _clean_records(out, manifest, e)}
        categories = {p["category"] for p in products.values()}
        for entry in by_source["campaigns"]:
            for campaign in _clean_records(out, manifest, entry):
                assert set(campaign["target_categories"]) <= categories
        for entry in by_source["orders"]:
            order_ids = set()
            for row in _clean_records(out, manifest, entry):
                r = as_dict(row, "orders")
                order_ids.add(r["order_id"])
                assert r["order_id"].startswith(f"ORD-{day.replace('-', '')}-")
                assert r["order_timestamp"][:10] == day
                datetime.strptime(r["order_timestamp"], "%Y-%m-%d %H:%M:%S")
                product = products[r["product_id"]]
                assert product["active"] is True
                assert Decimal(r["unit_price"]) == Decimal(str(product["retail_price"]))
                assert r["discount_percent"] in {"0", "5", "10", "15", "20", "25", "50"}
                if r["sales_channel"] in ("store", "marketplace"):
                    assert r["customer_id"].startswith("CUST") and r["customer_id"] in crm
                else:
                    assert r["sales_channel"] in ("web", "mobile")
                    assert r["customer_id"].startswith("EC") and r["customer_id"] in accounts
                assert r["store_id"] in STORES if r["sales_channel"] == "store" else r["store_id"] == "WH01"
                assert r["payment_method"] in {"card", "paypal", "cash", "gift_card", "bank_transfer"}
                assert r["payment_method"] != "cash" or r["sales_channel"] == "store"


def test_inventory_sales_are_the_shipped_orders(landing: tuple[Path, dict[str, Any]]) -> None:
    """One sale movement per non-cancelled order (same store, product, negated quantity, timestamp).

    Only a defect on either side may break a pair: a corrupted order leaves its movement unmatched,
    a corrupted movement leaves its order unmatched.
    """
    out, manifest = landing
    defect_count = Counter(d["file"] for d in manifest["defects"])
    for orders_entry in entries(manifest, "orders"):
        suffix = "_late" if orders_entry["kind"] == "late" else ""
        inventory_entry = _entry(manifest, f"inventory/inventory_{orders_entry['partition']}{suffix}.csv")
        shipped: Counter[tuple[str, str, int, str]] = Counter()
        for row in _clean_records(out, manifest, orders_entry):
            r = as_dict(row, "orders")
            if r["status"] != "cancelled":
                shipped[(r["store_id"], r["product_id"], -int(r["quantity"]), r["order_timestamp"])] += 1
        sales: Counter[tuple[str, str, int, str]] = Counter()
        extra = 0
        for row in _clean_records(out, manifest, inventory_entry):
            r = as_dict(row, "inventory")
            assert r["update_timestamp"][:10] == orders_entry["partition"]
            assert r["update_id"].startswith(f"INV-{orders_entry['partition'].replace('-', '')}-")
            if r["update_type"] == "sale":  # signs of clean records: see csv_problems
                sales[(r["store_id"], r["product_id"], int(r["quantity_change"]), r["update_timestamp"])] += 1
            else:
                extra += 1
        assert shipped.total() > 0
        assert (shipped - sales).total() <= defect_count[inventory_entry["path"]]
        assert (sales - shipped).total() <= defect_count[orders_entry["path"]]
        assert 0.03 * sales.total() - 1 <= extra <= 0.2 * sales.total() + 3


def test_identity_pairs_match_as_documented(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    crm = {r["customer_id"]: r for e in entries(manifest, "customers") for r in read_records(out, e)}
    accounts = {r["id"]: r for e in entries(manifest, "accounts") for r in read_records(out, e)}
    identities = manifest["identities"]
    assert 0.15 * len(accounts) <= len(identities) <= 0.25 * len(accounts)
    assert {i["match"] for i in identities} == {"email+phone+name", "email", "phone", "name"}

    def digits(phone: str | None) -> str | None:
        return re.sub(r"\D", "", phone) if phone else None

    for identity in identities:
        c, a = crm[identity["crm_id"]], accounts[identity["account_id"]]
        same = {
            "email": c["email"].lower() == a["contact_email"].lower(),
            "phone": digits(c["phone"]) is not None and digits(c["phone"]) == digits(a["contact_phone"]),
            "name": (c["first_name"].lower(), c["last_name"].lower())
            == (a["name_first"].lower(), a["name_last"].lower()),
        }
        assert {k for k, v in same.items() if v} == set(identity["match"].split("+")), identity
        # matching needs normalising: the raw spellings differ
        if same["email"]:
            assert c["email"] != a["contact_email"]
        if same["phone"]:
            assert c["phone"] != a["contact_phone"]
        if same["name"]:
            assert (c["first_name"], c["last_name"]) != (a["name_first"], a["name_last"])
            assert (c["country"], c["city"]) == (a["address_country"], a["address_city"])
    linked_accounts = {i["account_id"] for i in identities}
    crm_emails = {r["email"].lower() for r in crm.values() if r["email"]}
    crm_phones = {digits(r["phone"]) for r in crm.values() if r["phone"]}
    for account_id, a in accounts.items():
        if account_id not in linked_accounts:
            assert a["contact_email"].lower() not in crm_emails
            assert digits(a["contact_phone"]) not in crm_phones


def _digits(phone: str | None) -> str | None:
    return (re.sub(r"\D", "", phone) or None) if phone else None


def _people_components(out: Path, manifest: dict[str, Any]) -> list[list[str]]:
    """Every CRM and account record of the run (all files, all days, defective ones too), linked when
    the lowercased e-mail, the phone digits or the lowercased "first last" are equal (nulls never
    match), transitively, as the silver matcher does; returns the ids of each group, sorted."""
    people: list[tuple[str | None, str | None, str | None, str | None, str | None]] = []
    for entry in entries(manifest, "customers"):
        for r in read_records(out, entry):
            people.append((r["customer_id"], r["email"], r["phone"], r["first_name"], r["last_name"]))
    for entry in entries(manifest, "accounts"):
        for r in read_records(out, entry):
            people.append((r["id"], r["contact_email"], r["contact_phone"], r["name_first"], r["name_last"]))
    parent = list(range(len(people)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for i, (_, email, phone, first, last) in enumerate(people):
        keys = [
            ("email", email.lower()) if email else None,
            ("phone", _digits(phone)) if _digits(phone) else None,
        ]
        if first is not None and last is not None:
            keys.append(("name", f"{first.strip()} {last.strip()}".lower()))
        for key in filter(None, keys):
            parent[root(i)] = root(first_with.setdefault(key, i))
    groups: dict[int, set[str]] = defaultdict(set)
    for i, person in enumerate(people):
        groups[root(i)] |= {person[0]} if person[0] else set()
    return sorted(sorted(ids) for ids in groups.values() if ids)


def _expected_components(out: Path, manifest: dict[str, Any]) -> list[list[str]]:
    """The manifest's identity pairs, and every other delivered id on its own."""
    pairs = [sorted([i["crm_id"], i["account_id"]]) for i in manifest["identities"]]
    ids = {r["customer_id"] for e in entries(manifest, "customers") for r in read_records(out, e)}
    ids |= {r["id"] for e in entries(manifest, "accounts") for r in read_records(out, e)}
    linked = {x for pair in pairs for x in pair}
    return sorted(pairs + [[x] for x in ids - linked - {None}])


def test_only_identity_pairs_share_an_email_a_phone_or_a_name(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    assert _people_components(out, manifest) == _expected_components(out, manifest)


def test_people_stay_apart_over_many_days(tmp_path: Path) -> None:
    """New people every day, changed e-mails and phones, more defects: still only the pairs match."""
    manifest = generate(tmp_path, START, days=30, orders_per_day=20, seed=5, defect_rate=0.1)
    assert manifest["identities"]
    assert any(d["kind"] == "invalid_email" for d in manifest["defects"])
    assert _people_components(tmp_path, manifest) == _expected_components(tmp_path, manifest)


def test_csv_dialects_and_encodings_vary(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    csv_files = [f for f in manifest["files"] if SOURCES[f["source"]].format == "csv"]
    assert {f["delimiter"] for f in csv_files} == {",", ";", "|", "\t"}
    assert {f["encoding"] for f in csv_files} == {"utf-8", "utf-8-sig", "latin-1"}
    non_ascii_latin1 = 0
    for entry in csv_files:
        data = (out / entry["path"]).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == (entry["encoding"] == "utf-8-sig")
        assert data.endswith(b"\n") and b"\r" not in data
        if entry["encoding"] == "latin-1" and not data.isascii():
            non_ascii_latin1 += 1
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        elif entry["encoding"] != "latin-1":
            data.decode("utf-8")
        # DuckDB reads every record but the ones with a wrong field count
        spec = SOURCES[entry["source"]]
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in spec.column_names) + "}"
        count = duckdb.execute(
            f"SELECT count(*) FROM read_csv(?, delim = ?, header = true, encoding = ?, quote = '\"', escape = '\"', "
            f"auto_detect = false, ignore_errors = true, columns = {columns})",
            [str(out / entry["path"]), entry["delimiter"], entry["encoding"].removesuffix("-sig")],
        ).fetchone()[0]
        wrong = [
            d for d in manifest["defects"] if d["file"] == entry["path"] and d["kind"] == "wrong_column_count"
        ]
        assert count == entry["records"] - len(wrong)
    assert non_ascii_latin1 > 0
    quoted = [f for f in csv_files if f["delimiter"] == "," and b'"' in (out / f["path"]).read_bytes()]
    assert quoted, "a value containing the delimiter should have been quoted"


def test_vocabularies_survive_latin1_and_case_changes() -> None:
    for text in all_text():
        for variant in (text, text.upper(), text.lower()):
            assert len(variant) == len(text) and variant.encode("latin-1"), text


def test_text_is_latin1_representable_and_accented(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    texts: list[str] = []
    for entry in manifest["files"]:
        if SOURCES[entry["source"]].format != "csv":
            for record in read_records(out, entry):
                for value in record.values():
                    values = value if isinstance(value, list) else [value]
                    texts += [v for v in values if isinstance(v, str)]
    for text in texts:
        text.encode("latin-1")
    joined = " ".join(texts)
    for accented in ("José", "Müller", "Zoë", "São Paulo"):
        assert accented.lower() in joined.lower()


def test_master_data_is_full_then_incremental(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    first = {f["source"]: f["records"] for f in manifest["files"] if f["partition"] == "2024-01-01"}
    assert first["products"] >= 400 and first["customers"] >= 1000 and first["accounts"] >= 1000
    assert 5 <= first["campaigns"] <= 20
    for source in ("products", "customers", "accounts"):
        later = [f["records"] for f in entries(manifest, source) if f["partition"] != "2024-01-01"]
        assert all(0 < n < 0.1 * first[source] for n in later)
    products = json.loads((out / "products/products_2024-01-02.json").read_text(encoding="utf-8"))
    assert products["snapshot_date"] == "2024-01-02"
    campaigns = json.loads((out / "campaigns/campaigns_2024-01-01.json").read_text(encoding="utf-8"))
    assert isinstance(campaigns, list) and set(campaigns[0]["performance"]) == {
        "impressions",
        "clicks",
        "conversions",
        "spend",
        "revenue",
    }


def test_late_and_corrected_files(landing: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = landing
    last_day = "2024-01-04"
    late = manifest["late_files"]
    assert {f["source"] for f in late} == {"orders", "inventory"}
    assert len({f["partition"] for f in late}) == 2
    for item in late:
        entry = next(f for f in manifest["files"] if f["path"] == item["path"])
        assert entry["kind"] == "late" and item["path"].endswith("_late.csv")
        assert item["partition"] < item["arrives_on"] <= last_day
        assert entry["records"] == item["records"]
        if item["source"] == "orders":
            regular = read_records(out, _entry(manifest, f"orders/orders_{item['partition']}.csv"))
            late_ids = {row[0] for row in read_records(out, entry) if row[0]}
            assert late_ids and not late_ids & {row[0] for row in regular}
    (corrected,) = manifest["corrected_files"]
    entry = _entry(manifest, corrected["path"])
    assert entry["kind"] == "corrected" and corrected["partition"] < last_day
    final = (out / corrected["path"]).read_bytes()
    original = (out / corrected["original_path"]).read_bytes()
    assert hashlib.sha256(final).hexdigest() == corrected["corrected_sha256"]
    assert hashlib.sha256(original).hexdigest() == corrected["original_sha256"]
    assert corrected["original_records"] < corrected["corrected_records"] == entry["records"]
    assert corrected["original_path"] == f"_originals/{corrected['path']}"


def _entry(manifest: dict[str, Any], path: str) -> dict[str, Any]:
    return next(f for f in manifest["files"] if f["path"] == path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopflow")
    add_generate_parser(parser.add_subparsers(dest="command"))
    return parser


def test_cli_out_defaults_to_the_landing_dir_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOW_LANDING_DIR", str(tmp_path / "landing"))
    assert _parser().parse_args(["generate"]).out == tmp_path / "landing"
    assert _parser().parse_args(["generate", "--out", "x"]).out == Path("x")
    monkeypatch.setenv("SHOPFLOW_LANDING_DIR", "")
    assert _parser().parse_args(["generate"]).out == Path("data/landing")


def test_cli_defaults_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPFLOW_LANDING_DIR", raising=False)
    parser = _parser()
    defaults = parser.parse_args(["generate"])
    assert (defaults.start, defaults.days, defaults.orders_per_day, defaults.seed) == (START, 14, 2000, 42)
    assert (defaults.out, defaults.defect_rate, defaults.late_files) == (Path("data/landing"), 0.02, False)
    args = parser.parse_args(
        ["generate", "--out", str(tmp_path), "--days", "1", "--orders-per-day", "50", "--seed", "3"]
    )
    assert args.func(args) == 0
    assert json.loads((tmp_path / "_manifest.json").read_text(encoding="utf-8"))["params"]["seed"] == 3
    assert "orders" in capsys.readouterr().out
