-- One row per known customer (a dim_customers version, the unknown member excluded) with at least one order in fact_orders.
-- Revenue is the net amount of completed orders; the as-of day is the last order day in the data, so the
-- result does not depend on when the model runs. Definitions: see business.yml.
with

as_of as (
    select max(order_date) as as_of_date from {{ ref('fact_orders') }}
),

current_customers as (
    -- the customer's latest version (the current one while the customer exists)
    select customer_key, country, tier
    from {{ ref('dim_customers') }}
    where customer_sk <> {{ unknown_member_sk() }}
    qualify row_number() over (partition by customer_key order by valid_from desc) = 1
),

per_customer as (
    select
        f.customer_key,
        min(f.order_date) as first_order_date,
        max(f.order_date) as last_order_date,
        count(*) as orders,
        count(*) filter (where f.is_completed) as completed_orders,
        coalesce(sum(f.net_amount) filter (where f.is_completed), 0) as revenue
    from {{ ref('fact_orders') }} as f
    inner join current_customers as c on c.customer_key = f.customer_key
    group by f.customer_key
),

measures as (
    select
        p.*,
        (a.as_of_date - p.first_order_date) as tenure_days,
        (a.as_of_date - p.last_order_date) as recency_days,
        {{ money_per('p.revenue', 'p.completed_orders') }} as average_order_value,
        -- completed orders per 30 days, over the days since the first order (that day included),
        -- floored at 30 days so a customer seen for one day is not extrapolated to 30 orders a month
        round(
            p.completed_orders * 30.0
            / greatest(a.as_of_date - p.first_order_date + 1, 30),
            4
        ) as purchase_frequency
    from per_customer as p
    cross join as_of as a
),

scored as (
    -- quintile scores 1-5 like ntile(5), but ties share a score (ceil(5 x cume_dist)), so equal
    -- customers get equal scores and the result is deterministic
    select
        *,
        cast(ceil(5 * cume_dist() over (order by recency_days desc)) as integer) as recency_score,
        cast(ceil(5 * cume_dist() over (order by orders)) as integer) as frequency_score,
        cast(ceil(5 * cume_dist() over (order by revenue)) as integer) as monetary_score
    from measures
)

select
    s.customer_key,
    c.country,
    c.tier,
    s.first_order_date,
    s.last_order_date,
    s.orders,
    s.completed_orders,
    s.revenue,
    s.average_order_value,
    s.purchase_frequency,
    s.tenure_days,
    s.recency_days,
    s.revenue as lifetime_value_historical,
    round(
        s.revenue
        + coalesce(s.average_order_value, 0) * s.purchase_frequency
        * {{ var('ltv_projection_months', 12) }},
        2
    ) as lifetime_value_projected,
    s.recency_score,
    s.frequency_score,
    s.monetary_score,
    concat(s.recency_score, s.frequency_score, s.monetary_score) as rfm_score,
    case
        when s.recency_score >= 4 and s.frequency_score >= 4 then 'champions'
        when s.recency_score >= 3 and s.frequency_score >= 3 then 'loyal'
        when s.recency_score >= 4 then 'new'
        when s.recency_score <= 2 and s.frequency_score >= 3 then 'at_risk'
        when s.recency_score <= 2 then 'hibernating'
        else 'need_attention'
    end as segment
from scored as s
inner join current_customers as c on c.customer_key = s.customer_key
