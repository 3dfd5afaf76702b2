{{
    config(
        materialized='partition_window',
        partition_column='partition_date'
    )
}}
-- depends_on: {{ source('silver', 'orders') }}
-- (also directly on the silver table, not only through its staging view: a run selecting silver/orders
-- and this fact without the view still builds silver first)
-- One row per silver order of the window. The customer and product versions are the ones valid at
-- the order's timestamp (the rule silver resolves them with, macros/master_data.sql); an order
-- whose customer or product has no version then joins the unknown member ('unknown').
with orders as (
    select *, {{ lookup_moment('order_timestamp', 'partition_date') }} as lookup_at
    from {{ ref('stg_orders') }}
    where {{ partition_window_filter('partition_date') }}
),

products as (
    select * from {{ ref('int_product_versions') }}
),

customers as (
    select customer_sk, customer_key, valid_from, valid_to
    from {{ ref('dim_customers') }}
    where customer_sk <> {{ unknown_member_sk() }}
),

priced as (
    select
        o.order_id,
        o.partition_date,
        coalesce(cast(o.order_timestamp as date), o.partition_date) as order_date,
        o.order_timestamp,
        o.customer_id,
        o.customer_key,
        coalesce(c.customer_sk, {{ unknown_member_sk() }}) as customer_sk,
        o.product_id,
        coalesce(p.product_sk, {{ unknown_member_sk() }}) as product_sk,
        coalesce(o.store_id, {{ unknown_member_sk() }}) as store_id,
        o.sales_channel,
        o.payment_method,
        o.status,
        o.source_status,
        o.status = 'completed' as is_completed,
        o.quantity,
        o.unit_price,
        o.discount_percent,
        cast(o.quantity * o.unit_price as decimal(18, 2)) as gross_amount,
        cast(o.net_amount as decimal(18, 2)) as net_amount,
        cast(o.quantity * p.cost_price as decimal(18, 2)) as cost_amount
    from orders as o
    left join products as p
        on p.product_id = o.product_id and {{ valid_at('p', 'o.lookup_at') }}
    left join customers as c
        on c.customer_key = o.customer_key and {{ valid_at('c', 'o.lookup_at') }}
)

select
    order_id,
    partition_date,
    order_date,
    order_timestamp,
    customer_id,
    customer_key,
    customer_sk,
    product_id,
    product_sk,
    store_id,
    sales_channel,
    payment_method,
    status,
    source_status,
    is_completed,
    quantity,
    unit_price,
    discount_percent,
    gross_amount,
    cast(gross_amount - net_amount as decimal(18, 2)) as discount_amount,
    net_amount,
    cost_amount,
    cast(net_amount - cost_amount as decimal(18, 2)) as margin_amount
from priced
