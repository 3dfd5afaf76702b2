-- What is our stock worth at cost today, by category (all stores), and how many days does it cover?
select
    category,
    count(distinct store_id) as stores,
    sum(stock_units) as stock_units,
    sum(stock_value_at_cost) as stock_value_at_cost,
    sum(units_sold_28d) as units_sold_28d,
    round(
        greatest(sum(stock_units), 0) / nullif(sum(units_sold_28d) / max(days_in_window), 0), 1
    ) as days_of_cover,
    max(as_of_date) as as_of_date
from {{ ref('inventory_valuation') }}
group by category
order by stock_value_at_cost desc nulls last, category
