-- A Dagster asset check on inventory_daily (dagster-dbt attaches a test with several parents by meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'inventory_daily'}}}) }}
-- inventory_daily against fact_inventory_movements: every row's stock level is the sum of all the
-- pair's movements up to and including its day (so the end level is the sum of all movements, and no
-- day is left stale after a late movement), and its movements_today / quantity_change_today are that
-- day's. Days may be missing between two built days (a partition not built yet), never wrong.
-- Returns the failing rows.
with daily as (
    select store_id, product_id, partition_date, sum(quantity_change) as quantity_change, count(*) as movements
    from {{ ref('fact_inventory_movements') }}
    group by all
),

cumulative as (
    select *, sum(quantity_change) over (
        partition by store_id, product_id order by partition_date rows between unbounded preceding and current row
    ) as level_after
    from daily
),

checked as (
    select i.store_id, i.product_id, i.date_day, i.stock_level, i.movements_today, i.quantity_change_today,
           coalesce(c.level_after, 0) as expected_level,
           case when c.partition_date = i.date_day then c.movements else 0 end as expected_movements,
           case when c.partition_date = i.date_day then c.quantity_change else 0 end as expected_change
    from {{ ref('inventory_daily') }} as i
    asof left join cumulative as c
        on c.store_id = i.store_id and c.product_id = i.product_id and i.date_day >= c.partition_date
)

select *
from checked
where stock_level <> expected_level
   or movements_today <> expected_movements
   or quantity_change_today <> expected_change
