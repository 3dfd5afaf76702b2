-- The product versions a fact looks its product up in: dim_products without the unknown member,
-- only what the lookup needs. A fact joins it with valid_at() and falls back to 'unknown'.
select product_sk, product_id, category, cost_price, valid_from, valid_to
from {{ ref('dim_products') }}
where product_sk <> {{ unknown_member_sk() }}
