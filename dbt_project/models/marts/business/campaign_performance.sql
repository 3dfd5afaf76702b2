-- One row per campaign: its latest delivered performance (stg_campaign_performance.is_latest: the feed is
-- cumulative, one snapshot per campaign per delivery day) beside the revenue observed in fact_orders for its target categories.
-- Observed revenue: net amount of completed orders whose product category (of the product version valid at
-- order time) is one of the campaign's target categories (matched case-insensitively), on the campaign days
-- [start_date, end_date] against the baseline: the same number of days right before start_date. Only days
-- inside the order data [first, last order_date] are observed, so the uplift compares average revenue per
-- observed day: uplift_pct = 100 x (campaign per day - baseline per day) / baseline per day.
with

latest as (
    select
        campaign_id,
        campaign_name,
        marketing_channel as channel,
        start_date,
        end_date,
        target_categories,
        list_transform(target_categories, lambda c: lower(trim(c))) as target_categories_key,
        budget,
        impressions,
        clicks,
        conversions,
        spend,
        attributed_revenue as reported_revenue,
        ctr,
        conversion_rate,
        cost_per_conversion,
        roas,
        partition_date as reported_on
    from {{ ref('stg_campaign_performance') }}
    where is_latest
),

windows as (
    select
        *,
        cast(end_date - start_date + 1 as integer) as campaign_days,
        start_date - cast(end_date - start_date + 1 as integer) as baseline_start_date,
        start_date - 1 as baseline_end_date
    from latest
),

coverage as (
    select min(order_date) as data_start, max(order_date) as data_end
    from {{ ref('fact_orders') }}
),

daily_category_revenue as (
    select f.order_date, lower(trim(p.category)) as category_key, sum(f.net_amount) as revenue
    from {{ ref('fact_orders') }} as f
    inner join {{ ref('dim_products') }} as p on p.product_sk = f.product_sk
    where f.is_completed and f.product_sk <> {{ unknown_member_sk() }}
    group by 1, 2
),

observed as (
    select
        w.campaign_id,
        coalesce(sum(d.revenue) filter (
            where d.order_date between w.start_date and w.end_date
        ), 0) as observed_revenue,
        coalesce(sum(d.revenue) filter (
            where d.order_date between w.baseline_start_date and w.baseline_end_date
        ), 0) as baseline_revenue
    from windows as w
    left join daily_category_revenue as d
        on list_contains(w.target_categories_key, d.category_key)
        and d.order_date between w.baseline_start_date and w.end_date
    group by w.campaign_id
),

measured as (
    select
        w.*,
        -- days of each window inside [data_start, data_end]; 0 without order data (greatest and least
        -- skip NULLs in DuckDB, hence the explicit case)
        case
            when c.data_end is null then 0
            else greatest(0, least(w.end_date, c.data_end) - greatest(w.start_date, c.data_start) + 1)
        end as observed_days,
        case
            when c.data_end is null then 0
            else greatest(
                0, least(w.baseline_end_date, c.data_end) - greatest(w.baseline_start_date, c.data_start) + 1
            )
        end as baseline_observed_days,
        o.observed_revenue,
        o.baseline_revenue
    from windows as w
    cross join coverage as c
    inner join observed as o on o.campaign_id = w.campaign_id
),

per_day as (
    select
        *,
        case when observed_days > 0 then round(observed_revenue / observed_days, 2) end
            as observed_revenue_per_day,
        case when baseline_observed_days > 0 then round(baseline_revenue / baseline_observed_days, 2) end
            as baseline_revenue_per_day
    from measured
)

select
    campaign_id,
    campaign_name,
    channel,
    start_date,
    end_date,
    campaign_days,
    target_categories,
    budget,
    spend,
    impressions,
    clicks,
    conversions,
    reported_revenue,
    ctr,
    conversion_rate,
    cost_per_conversion,
    roas,
    reported_on,
    baseline_start_date,
    baseline_end_date,
    observed_days,
    observed_revenue,
    observed_revenue_per_day,
    baseline_observed_days,
    baseline_revenue,
    baseline_revenue_per_day,
    case
        when baseline_revenue_per_day > 0 and observed_revenue_per_day is not null
            then round(100.0 * (observed_revenue_per_day - baseline_revenue_per_day) / baseline_revenue_per_day, 2)
    end as uplift_pct
from per_day
