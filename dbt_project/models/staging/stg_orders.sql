-- Silver orders under business names. The closed code sets (status, sales channel, payment method)
-- are mapped here, once: a value silver only flagged (e.g. status 'tbd') becomes 'unknown', the
-- delivered value stays in source_<column>.
select
    order_id,
    customer_id,
    customer_key,
    product_id,
    store_id,
    {{ closed_set('sales_channel', shopflow_codes('sales_channel')) }} as sales_channel,
    {{ closed_set('payment_method', shopflow_codes('payment_method')) }} as payment_method,
    {{ closed_set('status', shopflow_codes('order_status')) }} as status,
    sales_channel as source_sales_channel,
    payment_method as source_payment_method,
    status as source_status,
    quantity,
    unit_price,
    discount_percent,
    total as delivered_total,
    net_amount,
    order_timestamp,
    _partition_date as partition_date
from {{ source('silver', 'orders') }}
