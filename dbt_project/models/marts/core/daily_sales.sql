{{
    config(
        materialized='partition_window',
        partition_column='partition_date'
    )
}}
-- Sales per partition day x store x sales channel x product category (the category of the product
-- version valid at the order's time; 'Unknown' when none). Order intake (orders, units, gross,
-- discount) counts every order placed; revenue counts completed orders only.
with orders as (
    select *
    from {{ ref('fact_orders') }}
    where {{ partition_window_filter('partition_date') }}
),

categories as (
    select product_sk, category
    from {{ ref('dim_products') }}
)

select
    o.partition_date,
    o.store_id,
    o.sales_channel,
    coalesce(c.category, 'Unknown') as category,
    count(*) as orders,
    cast(sum(o.quantity) as bigint) as units,
    cast(sum(o.gross_amount) as decimal(18, 2)) as gross_amount,
    cast(sum(o.discount_amount) as decimal(18, 2)) as discount_amount,
    cast(coalesce(sum(o.net_amount) filter (where o.is_completed), 0) as decimal(18, 2)) as net_revenue,
    count(*) filter (where o.is_completed) as completed_orders,
    cast(coalesce(sum(o.quantity) filter (where o.is_completed), 0) as bigint) as completed_units,
    {{ money_per('coalesce(sum(o.net_amount) filter (where o.is_completed), 0)',
                 'count(*) filter (where o.is_completed)') }} as average_order_value,
    cast(coalesce(sum(o.cost_amount) filter (where o.is_completed), 0) as decimal(18, 2)) as completed_cost_amount,
    cast(coalesce(sum(o.margin_amount) filter (where o.is_completed), 0) as decimal(18, 2)) as completed_margin_amount,
    count(*) filter (where o.status = 'refunded') as refunds_count,
    cast(coalesce(sum(o.net_amount) filter (where o.status = 'refunded'), 0) as decimal(18, 2)) as refunds_amount,
    count(*) filter (where o.status = 'cancelled') as cancellations_count,
    cast(coalesce(sum(o.net_amount) filter (where o.status = 'cancelled'), 0) as decimal(18, 2)) as cancellations_amount
from orders as o
left join categories as c on c.product_sk = o.product_sk
group by all
