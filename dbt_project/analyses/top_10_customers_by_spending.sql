-- Who are our 10 best customers by total spending (net revenue of completed orders, all time)?
select
    m.customer_key,
    c.name as customer_name,
    m.country,
    m.tier,
    m.completed_orders,
    m.revenue as total_spent,
    m.average_order_value,
    m.segment
from {{ ref('customer_metrics') }} as m
left join {{ ref('dim_customers') }} as c
    on c.customer_key = m.customer_key and c.is_current
order by m.revenue desc, m.customer_key
limit 10
