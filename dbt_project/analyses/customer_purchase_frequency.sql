-- How often do customers buy? Customers by number of completed orders (all time), with their share and
-- their average purchase frequency (completed orders per 30 days, see customer_metrics).
with buckets as (
    select
        case
            when completed_orders >= 10 then '10+'
            when completed_orders >= 5 then '5-9'
            else cast(completed_orders as varchar)
        end as completed_orders_bucket,
        case
            when completed_orders >= 10 then 10
            when completed_orders >= 5 then 5
            else completed_orders
        end as bucket_order,
        customer_key,
        revenue,
        purchase_frequency
    from {{ ref('customer_metrics') }}
)

select
    completed_orders_bucket,
    count(*) as customers,
    round(100.0 * count(*) / sum(count(*)) over (), 2) as customers_pct,
    round(avg(purchase_frequency), 2) as average_purchase_frequency,
    sum(revenue) as revenue
from buckets
group by completed_orders_bucket, bucket_order
order by bucket_order
