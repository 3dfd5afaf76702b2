-- How does revenue develop month by month (net revenue of completed orders, growth on the month before)?
select
    strftime(month, '%Y-%m') as month,
    revenue,
    orders,
    completed_orders,
    active_customers,
    average_order_value,
    days_with_orders,
    revenue_growth_pct
from {{ ref('monthly_revenue') }}
order by month
