-- One row per month x sales channel with orders. Revenue is the net amount of completed orders; rates are
-- shares of all the channel's orders in the month (any status).
with

per_channel as (
    select
        date_trunc('month', order_date)::date as month,
        sales_channel,
        count(*) as orders,
        count(*) filter (where is_completed) as completed_orders,
        coalesce(sum(net_amount) filter (where is_completed), 0) as revenue,
        count(*) filter (where status = 'refunded') as refunds_count,
        coalesce(sum(net_amount) filter (where status = 'refunded'), 0) as refunds_amount,
        count(*) filter (where status = 'cancelled') as cancellations_count,
        coalesce(sum(net_amount) filter (where status = 'cancelled'), 0) as cancellations_amount
    from {{ ref('fact_orders') }}
    group by 1, 2
)

select
    month,
    sales_channel,
    orders,
    completed_orders,
    revenue,
    {{ money_per('revenue', 'completed_orders') }} as average_order_value,
    case
        when sum(revenue) over (partition by month) <> 0
            then round(100.0 * revenue / sum(revenue) over (partition by month), 2)
    end as revenue_share_pct,
    refunds_count,
    refunds_amount,
    round(100.0 * refunds_count / orders, 2) as refund_rate_pct,
    cancellations_count,
    cancellations_amount,
    round(100.0 * cancellations_count / orders, 2) as cancellation_rate_pct
from per_channel
