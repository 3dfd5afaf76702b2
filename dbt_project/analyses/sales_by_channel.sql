-- How do the sales channels compare over all time (revenue, share, AOV, refund and cancellation rates)?
with channels as (
    select
        sales_channel,
        sum(orders) as orders,
        sum(completed_orders) as completed_orders,
        sum(revenue) as revenue,
        sum(refunds_count) as refunds_count,
        sum(cancellations_count) as cancellations_count
    from {{ ref('channel_performance') }}
    group by sales_channel
)

select
    sales_channel,
    orders,
    completed_orders,
    revenue,
    round(100.0 * revenue / sum(revenue) over (), 2) as revenue_share_pct,
    round(revenue / nullif(completed_orders, 0), 2) as average_order_value,
    round(100.0 * refunds_count / orders, 2) as refund_rate_pct,
    round(100.0 * cancellations_count / orders, 2) as cancellation_rate_pct
from channels
order by revenue desc, sales_channel
