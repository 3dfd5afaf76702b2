{{
    config(
        materialized='partition_window',
        partition_column='partition_date'
    )
}}
-- depends_on: {{ source('silver', 'inventory_movements') }}
-- (also directly on the silver table, not only through its staging view: a run selecting silver/inventory_movements
-- and this fact without the view still builds silver first)
-- One row per silver stock movement of the window, with the product version valid at the
-- movement's timestamp and its cost.
with movements as (
    select *, {{ lookup_moment('movement_timestamp', 'partition_date') }} as lookup_at
    from {{ ref('stg_inventory_movements') }}
    where {{ partition_window_filter('partition_date') }}
),

products as (
    select * from {{ ref('int_product_versions') }}
)

select
    m.update_id,
    m.partition_date,
    coalesce(cast(m.movement_timestamp as date), m.partition_date) as movement_date,
    m.movement_timestamp,
    m.store_id,
    m.product_id,
    coalesce(p.product_sk, {{ unknown_member_sk() }}) as product_sk,
    m.movement_type,
    m.quantity_change,
    p.cost_price as unit_cost,
    cast(m.quantity_change * p.cost_price as decimal(18, 2)) as cost_value
from movements as m
left join products as p
    on p.product_id = m.product_id and {{ valid_at('p', 'm.lookup_at') }}
