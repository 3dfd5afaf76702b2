-- Product versions (one row per product per change), valid_from / valid_to as silver keeps them.
select
    product_id,
    name as product_name,
    category,
    brand,
    supplier,
    cost_price,
    retail_price,
    margin,
    margin_pct,
    active,
    last_updated,
    valid_from,
    valid_to,
    is_current
from {{ source('silver', 'products') }}
