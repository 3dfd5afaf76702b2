-- Which person (customer_key) every CRM and web-shop id belongs to, as versions.
select
    source_system,
    source_id,
    customer_key,
    is_survivor,
    first_seen,
    valid_from,
    valid_to,
    is_current
from {{ source('silver', 'customer_id_map') }}
