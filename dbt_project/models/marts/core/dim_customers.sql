-- Customer (person) versions (SCD2) from silver, one row per customer_key per change, plus the
-- unknown member that an order joins when its customer is not known at its time.
select
    {{ version_sk('customer_key') }} as customer_sk,
    customer_key,
    nullif(trim(concat_ws(' ', first_name, last_name)), '') as name,
    first_name,
    last_name,
    email,
    country,
    city,
    tier,
    registration_date,
    source_systems,
    record_count,
    valid_from,
    valid_to,
    is_current
from {{ ref('stg_customers') }}

union all

select
    {{ unknown_member_sk() }} as customer_sk,
    {{ unknown_member_sk() }} as customer_key,
    'Unknown' as name,
    'Unknown' as first_name,
    'Unknown' as last_name,
    'Unknown' as email,
    'Unknown' as country,
    'Unknown' as city,
    'Unknown' as tier,
    null as registration_date,
    null as source_systems,
    null as record_count,
    date '1900-01-01' as valid_from,
    null as valid_to,
    true as is_current
