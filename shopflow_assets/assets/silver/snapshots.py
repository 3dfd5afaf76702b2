"""Publishers for the snapshot tables: each partition is the state as of that day.

A product or customer record delivered on day D stays current until a newer valid version of the
same id arrives, so every day's snapshot is the latest valid version of each id delivered on or
before it. Rebuilding any window reads the full (small) history, so it does not depend on which
earlier partitions happen to have run.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from shopflow_assets.assets.silver.build import replace_window
from shopflow_assets.readers.base import sql_str

MAX_MATCH_ROUNDS = 50


def _days(start: date, end: date) -> str:
    return (
        f"SELECT unnest(range(DATE {sql_str(start.isoformat())}, DATE {sql_str(end.isoformat())}, "
        "INTERVAL 1 DAY))::DATE AS day"
    )


def _as_of(key: str, start: date, end: date) -> str:
    """For every day of the window, the latest kept version of each key delivered by then."""
    return f"""
    SELECT d.day, v.*, min(v._partition_date) OVER (PARTITION BY d.day, v.{key}) AS _first_seen
    FROM ({_days(start, end)}) d JOIN _sv_ok v ON v._partition_date <= d.day
    QUALIFY row_number() OVER (PARTITION BY d.day, v.{key}
                               ORDER BY v._partition_date DESC, v._source_file DESC, v._record_number DESC) = 1"""


def publish_products(
    con: duckdb.DuckDBPyConnection, start: date, end: date, run_id: str, at: datetime
) -> None:
    select = f"""
    SELECT day AS _partition_date, * EXCLUDE (day, _partition_date, _first_seen),
           _partition_date AS _delivered_on,
           (retail_price - cost_price)::DECIMAL(12, 2) AS margin,
           round((retail_price - cost_price) / NULLIF(retail_price, 0) * 100, 2)::DECIMAL(7, 2) AS margin_pct,
           ? AS _run_id, ?::TIMESTAMP AS _processed_at
    FROM ({_as_of("product_id", start, end)})"""
    replace_window(con, "products", select, [run_id, at], start, end)


def match_customers(con: duckdb.DuckDBPyConnection, start: date, end: date) -> None:
    """Cluster each day's current CRM and web-shop records into people (_cm_nodes, _cm_edges, _cm_label).

    Two records are one person when the email, the phone digits or the full name match; matching is
    transitive, so clusters are the connected components, found by propagating the smallest label.
    A cluster's label is its earliest-seen record, which keeps its customer_key stable as records join.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cm_nodes AS
        SELECT *, strftime(_first_seen, '%Y%m%d') || '|' || source_system || '|' || source_id AS anchor,
               CASE WHEN first_name IS NOT NULL AND last_name IS NOT NULL
                    THEN lower(first_name || ' ' || last_name) END AS full_name,
               CASE WHEN length(phone) >= 7 THEN phone END AS match_phone
        FROM ({_as_of("source_id", start, end)})"""
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


def publish_customers(
    con: duckdb.DuckDBPyConnection, start: date, end: date, run_id: str, at: datetime
) -> None:
    """silver.customers (one row per person), customer_id_map and customer_duplicates for the window."""
    match_customers(con, start, end)
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
    params = [run_id, at]
    replace_window(
        con,
        "customers",
        """SELECT m.day AS _partition_date, m.customer_key, m.source_system, m.source_id, m.first_name,
                  m.last_name, m.email, m.phone, m.country, m.city, m.registration_date, m.customer_tier,
                  m.preferred_categories, m.marketing_opt_in, g.source_ids, g.source_systems, g.record_count,
                  m._flags, m._source_file, m._record_number, m._partition_date AS _delivered_on,
                  ? AS _run_id, ?::TIMESTAMP AS _processed_at
           FROM _cm_members m JOIN (
               SELECT day, label, list(source_id ORDER BY source_id) AS source_ids,
                      list(DISTINCT source_system ORDER BY source_system) AS source_systems,
                      count(*) AS record_count
               FROM _cm_members GROUP BY day, label) g USING (day, label)
           WHERE m.is_survivor""",
        params,
        start,
        end,
    )
    replace_window(
        con,
        "customer_id_map",
        """SELECT day AS _partition_date, source_system, source_id, customer_key, is_survivor,
                  _first_seen AS first_seen, _flags, _partition_date AS _delivered_on, _source_file,
                  _record_number, ? AS _run_id, ?::TIMESTAMP AS _processed_at
           FROM _cm_members""",
        params,
        start,
        end,
    )
    replace_window(
        con,
        "customer_duplicates",
        """SELECT m.day AS _partition_date, m.customer_key, m.source_id AS kept_id,
                  list(o.source_id ORDER BY o.source_id) FILTER (WHERE o.source_id <> m.source_id) AS merged_ids,
                  (SELECT array_to_string(list(DISTINCT e.reason ORDER BY e.reason), '+')
                   FROM _cm_edges e JOIN _cm_label la ON la.day = e.day AND la.source_id = e.a
                   WHERE e.day = m.day AND la.label = m.label) AS match_reason,
                  list(DISTINCT o.source_system ORDER BY o.source_system) AS source_systems,
                  count(*) AS record_count, ? AS _run_id, ?::TIMESTAMP AS _processed_at
           FROM _cm_members m JOIN _cm_members o ON o.day = m.day AND o.label = m.label
           WHERE m.is_survivor
           GROUP BY m.day, m.customer_key, m.source_id, m.label
           HAVING count(*) > 1""",
        params,
        start,
        end,
    )
