-- A Dagster asset check on daily_sales (dagster-dbt attaches a test with several parents by meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'daily_sales'}}}) }}
-- Per partition day: daily_sales net revenue = sum of net_amount of completed orders in fact_orders,
-- and its orders / units / refunds / cancellations add up to fact_orders. Returns the days that differ.
with sales as (
    select partition_date, sum(net_revenue) as net_revenue, sum(orders) as orders, sum(units) as units,
           sum(completed_orders) as completed_orders, sum(refunds_amount) as refunds_amount,
           sum(cancellations_amount) as cancellations_amount
    from {{ ref('daily_sales') }}
    where {{ partition_window_filter('partition_date') }}
    group by all
),

facts as (
    select partition_date,
           coalesce(sum(net_amount) filter (where is_completed), 0) as net_revenue,
           count(*) as orders, sum(quantity) as units,
           count(*) filter (where is_completed) as completed_orders,
           coalesce(sum(net_amount) filter (where status = 'refunded'), 0) as refunds_amount,
           coalesce(sum(net_amount) filter (where status = 'cancelled'), 0) as cancellations_amount
    from {{ ref('fact_orders') }}
    where {{ partition_window_filter('partition_date') }}
    group by all
)

select coalesce(s.partition_date, f.partition_date) as partition_date,
       s.net_revenue as sales_net_revenue, f.net_revenue as fact_net_revenue,
       s.orders as sales_orders, f.orders as fact_orders
from sales as s
full outer join facts as f on f.partition_date = s.partition_date
where s.net_revenue is distinct from f.net_revenue
   or s.orders is distinct from f.orders
   or s.units is distinct from f.units
   or s.completed_orders is distinct from f.completed_orders
   or s.refunds_amount is distinct from f.refunds_amount
   or s.cancellations_amount is distinct from f.cancellations_amount
