-- One row per calendar month with orders (by order_date). Revenue is the net amount of completed orders;
-- growth compares with the calendar month before (NULL for the first month or when it had no revenue).
with

monthly as (
    select
        date_trunc('month', order_date)::date as month,
        coalesce(sum(net_amount) filter (where is_completed), 0) as revenue,
        count(*) as orders,
        count(*) filter (where is_completed) as completed_orders,
        count(distinct customer_key) filter (where is_completed and customer_key <> {{ unknown_member_sk() }})
            as active_customers,
        count(distinct order_date) as days_with_orders
    from {{ ref('fact_orders') }}
    group by 1
)

select
    m.month,
    m.revenue,
    m.orders,
    m.completed_orders,
    m.active_customers,
    {{ money_per('m.revenue', 'm.completed_orders') }} as average_order_value,
    m.days_with_orders,
    p.revenue as previous_month_revenue,
    case
        when p.revenue <> 0 then round(100.0 * (m.revenue - p.revenue) / p.revenue, 2)
    end as revenue_growth_pct
from monthly as m
left join monthly as p on p.month = (m.month - interval 1 month)::date
