-- One row per store x product category holding stock on the latest inventory_daily day (the as-of day).
-- Category: the product's latest dim_products version. Days of cover = stock units / average daily units
-- sold, where units sold are the 'sale' movements of that store x category on the last 28 days of data
-- ([as_of - 27, as_of], divided by the number of those days present in inventory_daily); NULL when none sold.
with

as_of as (
    select max(date_day) as as_of_date from {{ ref('inventory_daily') }}
),

window_days as (
    select count(distinct d.date_day) as days_in_window
    from {{ ref('inventory_daily') }} as d
    cross join as_of as a
    where d.date_day between a.as_of_date - 27 and a.as_of_date
),

current_category as (
    -- the product's latest version: the current one, or the last one of a product now out of the catalog
    select product_id, category
    from {{ ref('dim_products') }}
    where product_sk <> {{ unknown_member_sk() }}
    qualify row_number() over (partition by product_id order by valid_from desc) = 1
),

stock as (
    select
        d.store_id,
        coalesce(c.category, 'unknown') as category,
        count(distinct d.product_id) as products,
        sum(d.stock_level) as stock_units,
        sum(d.stock_value_at_cost) as stock_value_at_cost
    from {{ ref('inventory_daily') }} as d
    cross join as_of as a
    left join current_category as c on c.product_id = d.product_id
    where d.date_day = a.as_of_date
    group by 1, 2
),

sold as (
    select
        m.store_id,
        coalesce(c.category, 'unknown') as category,
        -sum(m.quantity_change) as units_sold_28d
    from {{ ref('fact_inventory_movements') }} as m
    cross join as_of as a
    left join current_category as c on c.product_id = m.product_id
    where m.movement_type = 'sale'
        and m.movement_date between a.as_of_date - 27 and a.as_of_date
    group by 1, 2
)

select
    a.as_of_date,
    s.store_id,
    st.store_name,
    s.category,
    s.products,
    s.stock_units,
    s.stock_value_at_cost,
    coalesce(u.units_sold_28d, 0) as units_sold_28d,
    w.days_in_window,
    round(coalesce(u.units_sold_28d, 0) / w.days_in_window, 4) as average_daily_units_sold,
    case
        when coalesce(u.units_sold_28d, 0) > 0
            then round(greatest(s.stock_units, 0) / (u.units_sold_28d / w.days_in_window), 1)
    end as days_of_cover
from stock as s
cross join as_of as a
cross join window_days as w
left join sold as u on u.store_id = s.store_id and u.category = s.category
left join {{ ref('dim_stores') }} as st on st.store_id = s.store_id
