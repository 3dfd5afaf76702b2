-- One row per product (its latest dim_products version), sold or not. Sales measures count completed
-- orders only; cost and margin come from the product version valid at each order's time (fact_orders), so
-- they cover the orders whose cost is known (an order of a product with no version then has none).
with

current_products as (
    -- the product's latest version: the current one, or the last one of a product now out of the catalog
    select product_id, name, category, brand, supplier, cost_price, retail_price, active, is_current
    from {{ ref('dim_products') }}
    where product_sk <> {{ unknown_member_sk() }}
    qualify row_number() over (partition by product_id order by valid_from desc) = 1
),

sales as (
    select
        product_id,
        sum(quantity) as units,
        count(*) as orders,
        sum(net_amount) as revenue,
        sum(cost_amount) as cost,
        sum(margin_amount) as margin,
        sum(net_amount) filter (where cost_amount is not null) as costed_revenue,
        count(*) filter (where cost_amount is null) as orders_without_cost
    from {{ ref('fact_orders') }}
    where is_completed
    group by product_id
),

joined as (
    select
        p.*,
        coalesce(s.units, 0) as units,
        coalesce(s.orders, 0) as orders,
        coalesce(s.revenue, 0) as revenue,
        coalesce(s.cost, 0) as cost,
        coalesce(s.margin, 0) as margin,
        coalesce(s.costed_revenue, 0) as costed_revenue,
        coalesce(s.orders_without_cost, 0) as orders_without_cost
    from current_products as p
    left join sales as s on s.product_id = p.product_id
)

select
    product_id,
    name,
    category,
    brand,
    supplier,
    cost_price,
    retail_price,
    active,
    is_current,
    units,
    orders,
    revenue,
    cost,
    margin,
    case when costed_revenue <> 0 then round(100.0 * margin / costed_revenue, 2) end as margin_pct,
    orders_without_cost,
    rank() over (partition by category order by revenue desc) as rank_in_category
from joined
