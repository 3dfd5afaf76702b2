-- A Dagster asset check on inventory_daily (dagster-dbt attaches a test with several parents by meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'inventory_daily'}}}) }}
-- inventory_daily against fact_inventory_movements:
-- (1) each store x product's stock on the last day built is the sum of all its movements up to that day;
-- (2) from one day to the next, the stock changes by exactly that day's movements (no gaps in the grid,
--     no day left stale after a late movement).
-- Returns the failing store x product (x day) rows.
with last_day as (
    select store_id, product_id, max(date_day) as date_day
    from {{ ref('inventory_daily') }}
    group by all
),

end_levels as (
    select i.store_id, i.product_id, i.date_day, i.stock_level
    from {{ ref('inventory_daily') }} as i
    join last_day using (store_id, product_id, date_day)
),

movement_totals as (
    select e.store_id, e.product_id, sum(m.quantity_change) as total_change
    from end_levels as e
    join {{ ref('fact_inventory_movements') }} as m
        on m.store_id = e.store_id and m.product_id = e.product_id and m.partition_date <= e.date_day
    group by all
),

steps as (
    select
        store_id, product_id, date_day, stock_level, quantity_change_today,
        lag(date_day) over (partition by store_id, product_id order by date_day) as previous_day,
        lag(stock_level) over (partition by store_id, product_id order by date_day) as previous_level
    from {{ ref('inventory_daily') }}
)

select e.store_id, e.product_id, e.date_day, 'end level is not the sum of all movements' as problem
from end_levels as e
left join movement_totals as t using (store_id, product_id)
where e.stock_level is distinct from coalesce(t.total_change, 0)
union all
select store_id, product_id, date_day, 'stock does not follow the day''s movements'
from steps
where previous_day is not null
  and (date_day <> previous_day + 1 or stock_level <> previous_level + quantity_change_today)
