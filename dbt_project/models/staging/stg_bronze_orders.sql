-- A thin view over bronze orders: the placeholder the gold layer replaces with silver-based models.
select
    order_id,
    customer_id,
    product_id,
    quantity,
    total,
    order_timestamp,
    _partition_date as partition_date
from {{ source('bronze', 'orders') }}
