"""The customer master as versioned history: customers, customer_id_map and customer_duplicates.

The ledger silver.customer_deliveries holds every accepted CRM profile and web-shop account by
delivery day. CRM and web-shop files are change files: an id missing from a file is unchanged, and
neither source has a removal flag, so a customer's versions close only when they change.

The state on a delivery day D is the latest record of each source id delivered on or before D.
Records are one person when the e-mail, the phone digits or the full name match, transitively (the
connected components of those links). A person's customer_key comes from their earliest-delivered
record (first delivery day, then source system, then id), so records that join later never change it.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from shopflow_assets.defs.silver.build import publish_ledger
from shopflow_assets.defs.silver.stale import mark_stale
from shopflow_assets.defs.silver.versions import (
    latest_as_of,
    merge_versions,
)

LEDGER = "customer_deliveries"
MAX_MATCH_ROUNDS = 50
PERSON = (
    "source_system", "source_id", "first_name", "last_name", "email", "phone", "country", "city",
    "registration_date", "customer_tier", "preferred_categories", "marketing_opt_in",
)  # fmt: skip


def match_customers(con: duckdb.DuckDBPyConnection) -> None:
    """Cluster each state day's records into people (_cm_nodes, _cm_edges, _cm_label).

    Clusters are the connected components of the e-mail / phone / full-name links, found by
    propagating the smallest label; a cluster's label is its earliest-seen record's anchor.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cm_nodes AS
        SELECT *, strftime(_first_seen, '%Y%m%d') || '|' || source_system || '|' || source_id AS anchor,
               CASE WHEN first_name IS NOT NULL AND last_name IS NOT NULL
                    THEN lower(first_name || ' ' || last_name) END AS full_name,
               CASE WHEN length(phone) >= 7 THEN phone END AS match_phone
        FROM ({latest_as_of(LEDGER, "source_id")}) WHERE source_id IS NOT NULL"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cm_edges AS
        SELECT a.day, a.source_id AS a, b.source_id AS b, 'email' AS reason
        FROM _cm_nodes a JOIN _cm_nodes b ON a.day = b.day AND a.email = b.email AND a.source_id <> b.source_id
        UNION ALL
        SELECT a.day, a.source_id, b.source_id, 'phone'
        FROM _cm_nodes a JOIN _cm_nodes b
          ON a.day = b.day AND a.match_phone = b.match_phone AND a.source_id <> b.source_id
        UNION ALL
        SELECT a.day, a.source_id, b.source_id, 'name'
        FROM _cm_nodes a JOIN _cm_nodes b
          ON a.day = b.day AND a.full_name = b.full_name AND a.source_id <> b.source_id"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cm_label AS SELECT day, source_id, anchor AS label FROM _cm_nodes"
    )
    for _ in range(MAX_MATCH_ROUNDS):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _cm_next AS
            SELECT l.day, l.source_id, least(l.label, min(n.label)) AS label
            FROM _cm_label l
            LEFT JOIN (SELECT DISTINCT day, a, b FROM _cm_edges) e ON e.day = l.day AND e.a = l.source_id
            LEFT JOIN _cm_label n ON n.day = e.day AND n.source_id = e.b
            GROUP BY l.day, l.source_id, l.label"""
        )
        (changed,) = con.execute(
            "SELECT count(*) FROM _cm_next n JOIN _cm_label l USING (day, source_id) WHERE n.label <> l.label"
        ).fetchone()
        con.execute("CREATE OR REPLACE TEMP TABLE _cm_label AS SELECT * FROM _cm_next")
        if not changed:
            return
    raise RuntimeError(f"customer matching did not converge in {MAX_MATCH_ROUNDS} rounds")


def _members(con: duckdb.DuckDBPyConnection) -> None:
    """Every record of every state day with its person's key and whether it represents the person."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cm_members AS
        SELECT n.*, l.label, 'CK' || upper(substr(md5(split_part(l.label, '|', 3)), 1, 12)) AS customer_key,
               row_number() OVER (
                   PARTITION BY n.day, l.label
                   ORDER BY (n.first_name IS NOT NULL)::INT + (n.last_name IS NOT NULL)::INT
                            + (n.email IS NOT NULL)::INT + (n.phone IS NOT NULL)::INT
                            + (n.country IS NOT NULL)::INT + (n.city IS NOT NULL)::INT
                            + (n.registration_date IS NOT NULL)::INT + (n.customer_tier IS NOT NULL)::INT
                            + (n.preferred_categories IS NOT NULL)::INT + (n.marketing_opt_in IS NOT NULL)::INT DESC,
                            n.registration_date NULLS LAST, n.source_id) = 1 AS is_survivor
        FROM _cm_nodes n JOIN _cm_label l USING (day, source_id)"""
    )


def _states(con: duckdb.DuckDBPyConnection) -> None:
    """One state row per entity per state day for each of the three tables."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cm_state_map AS
        SELECT day, source_system, source_id, customer_key, is_survivor, _first_seen AS first_seen, _flags,
               _partition_date AS _delivered_on, _source_file, _record_number
        FROM _cm_members"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cm_state_customers AS
        SELECT m.day, m.customer_key, {", ".join(f"m.{c}" for c in PERSON)},
               g.source_ids, g.source_systems, g.record_count,
               m._flags, m._source_file, m._record_number, m._partition_date AS _delivered_on
        FROM _cm_members m JOIN (
            SELECT day, label, list(source_id ORDER BY source_id) AS source_ids,
                   list(DISTINCT source_system ORDER BY source_system) AS source_systems, count(*) AS record_count
            FROM _cm_members GROUP BY day, label) g USING (day, label)
        WHERE m.is_survivor"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cm_reasons AS
        SELECT la.day, la.label, array_to_string(list(DISTINCT e.reason ORDER BY e.reason), '+') AS match_reason
        FROM _cm_edges e JOIN _cm_label la ON la.day = e.day AND la.source_id = e.a
        GROUP BY la.day, la.label"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cm_state_dups AS
        SELECT m.day, m.customer_key, m.source_id AS kept_id,
               list(o.source_id ORDER BY o.source_id) FILTER (WHERE o.source_id <> m.source_id) AS merged_ids,
               any_value(r.match_reason) AS match_reason,
               list(DISTINCT o.source_system ORDER BY o.source_system) AS source_systems,
               count(*) AS record_count
        FROM _cm_members m JOIN _cm_members o ON o.day = m.day AND o.label = m.label
        LEFT JOIN _cm_reasons r ON r.day = m.day AND r.label = m.label
        WHERE m.is_survivor
        GROUP BY m.day, m.customer_key, m.source_id, m.label
        HAVING count(*) > 1"""
    )


def publish_customers(
    con: duckdb.DuckDBPyConnection, start: date, end: date, run_id: str, at: datetime
) -> None:
    """The window's accepted records into the ledger, then the versions of the three tables."""
    w0, changed = publish_ledger(con, LEDGER, start, end, run_id, at)
    match_customers(con)
    _members(con)
    _states(con)
    merge_versions(
        con, "customer_id_map", "_cm_state_map", ["source_id"], ["source_system", "customer_key", "is_survivor"],
        w0, changed, run_id, at,
    )  # fmt: skip
    merge_versions(
        con, "customers", "_cm_state_customers", ["customer_key"],
        [*PERSON, "source_ids", "source_systems", "record_count", "_flags"], w0, changed, run_id, at,
    )  # fmt: skip
    merge_versions(
        con, "customer_duplicates", "_cm_state_dups", ["customer_key"],
        ["kept_id", "merged_ids", "match_reason", "source_systems", "record_count"], w0, changed, run_id, at,
    )  # fmt: skip
    if changed:
        mark_stale(con, start, "customers", run_id, at)
