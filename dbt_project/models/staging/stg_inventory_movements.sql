-- Silver stock movements under business names (update_* -> movement_*).
select
    update_id,
    store_id,
    product_id,
    update_type as movement_type,
    quantity_change,
    update_timestamp as movement_timestamp,
    _partition_date as partition_date
from {{ source('silver', 'inventory_movements') }}
