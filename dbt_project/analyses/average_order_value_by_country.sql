-- What is the average order value by customer country (completed orders of known customers, all time)?
-- The country is the one of the customer's version valid at the order time.
select
    coalesce(c.country, 'unknown') as country,
    count(distinct f.customer_key) as customers,
    count(*) as completed_orders,
    sum(f.net_amount) as revenue,
    {{ money_per('sum(f.net_amount)', 'count(*)') }} as average_order_value
from {{ ref('fact_orders') }} as f
inner join {{ ref('dim_customers') }} as c on c.customer_sk = f.customer_sk
where f.is_completed and f.customer_sk <> {{ unknown_member_sk() }}
group by 1
order by average_order_value desc, country
