-- Product versions (SCD2) from silver, one row per product per change, plus the unknown member
-- that a fact joins when no version of its product is valid at its time.
select
    {{ version_sk('product_id') }} as product_sk,
    product_id,
    product_name as name,
    category,
    brand,
    supplier,
    cost_price,
    retail_price,
    margin,
    margin_pct,
    active,
    valid_from,
    valid_to,
    is_current
from {{ ref('stg_products') }}

union all

select
    {{ unknown_member_sk() }} as product_sk,
    {{ unknown_member_sk() }} as product_id,
    'Unknown' as name,
    'Unknown' as category,
    'Unknown' as brand,
    'Unknown' as supplier,
    null as cost_price,
    null as retail_price,
    null as margin,
    null as margin_pct,
    null as active,
    date '1900-01-01' as valid_from,
    null as valid_to,
    true as is_current
