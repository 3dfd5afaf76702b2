-- Which are the 3 best-selling products (by net revenue of completed orders) in each category?
select
    category,
    rank_in_category,
    product_id,
    name as product_name,
    units,
    revenue,
    margin_pct
from {{ ref('product_performance') }}
where rank_in_category <= 3
order by category, rank_in_category, product_id
