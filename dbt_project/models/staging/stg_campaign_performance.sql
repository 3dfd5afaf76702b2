-- Campaign results as delivered: the feed is cumulative, one record per campaign per delivery day;
-- is_latest marks each campaign's most recent record.
select
    campaign_id,
    name as campaign_name,
    channel as marketing_channel,
    start_date,
    end_date,
    target_categories,
    budget,
    impressions,
    clicks,
    conversions,
    spend,
    revenue as attributed_revenue,
    ctr,
    conversion_rate,
    cost_per_conversion,
    roas,
    _partition_date as partition_date,
    row_number() over (
        partition by campaign_id order by _partition_date desc, _source_file desc, _record_number desc
    ) = 1 as is_latest
from {{ source('silver', 'campaign_performance') }}
