-- Stores from the seed, plus the unknown member that an order without a store joins.
select store_id, store_name, city, country, region, store_format
from {{ ref('stores') }}
union all
select {{ unknown_member_sk() }}, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown'
