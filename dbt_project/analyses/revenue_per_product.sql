-- How much revenue, cost and margin does each product bring (the 20 products with the most revenue)?
select
    product_id,
    name as product_name,
    category,
    units,
    orders,
    revenue,
    cost,
    margin,
    margin_pct
from {{ ref('product_performance') }}
order by revenue desc, product_id
limit 20
