-- A Dagster asset check on fact_orders (dagster-dbt attaches a test with several parents by meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fact_orders'}}}) }}
-- Per partition day (of the run's window; every day without one): fact_orders has exactly one row per
-- silver order, the same order ids and the same net amount. Returns the days that differ.
with silver as (
    select _partition_date as partition_date, count(*) as silver_rows, sum(net_amount) as silver_net
    from {{ source('silver', 'orders') }}
    where {{ partition_window_filter('_partition_date') }}
    group by all
),

gold as (
    select partition_date, count(*) as gold_rows, count(distinct order_id) as gold_ids, sum(net_amount) as gold_net
    from {{ ref('fact_orders') }}
    where {{ partition_window_filter('partition_date') }}
    group by all
)

select coalesce(s.partition_date, g.partition_date) as partition_date, s.silver_rows, g.gold_rows, g.gold_ids,
       s.silver_net, g.gold_net
from silver as s
full outer join gold as g on g.partition_date = s.partition_date
where s.silver_rows is distinct from g.gold_rows
   or g.gold_ids is distinct from g.gold_rows
   or s.silver_net is distinct from g.gold_net
