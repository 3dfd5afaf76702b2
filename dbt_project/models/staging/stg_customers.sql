-- Customer (person) versions: one row per customer_key per change.
select
    customer_key,
    source_system,
    source_id,
    first_name,
    last_name,
    email,
    phone,
    country,
    city,
    registration_date,
    customer_tier as tier,
    preferred_categories,
    marketing_opt_in,
    source_ids,
    source_systems,
    record_count,
    valid_from,
    valid_to,
    is_current
from {{ source('silver', 'customers') }}
