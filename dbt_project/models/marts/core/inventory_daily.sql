{{
    config(
        materialized='partition_window',
        partition_column='date_day',
        window_open_ended=true
    )
}}
{#-
  Stock per store x product at the end of each day: the cumulative sum of its movements, by the
  movements' partition day. A full build covers every day from a pair's first movement to the last
  partition in fact_inventory_movements.

  A window run [min_date, max_date) rebuilds every day from min_date up to the later of max_date - 1
  and the last day already built: a late movement changes the stock of its day and of every later
  day, and every day of the window gets its rows (days without movements included). The strategy
  deletes date_day >= min_date (window_open_ended) and inserts these days; the opening balance is the
  sum of the movements before min_date.
-#}
{%- set w = partition_window() -%}
{#- the last day built, read before the run deletes anything (the DELETE and the INSERT share a statement) -#}
{%- set last_built = none -%}
{%- if window_run_on_existing_table() -%}
    {%- set last_built = run_query('select max(date_day) from ' ~ this).columns[0].values()[0] -%}
{%- endif %}

with movements as (
    select partition_date, store_id, product_id, quantity_change
    from {{ ref('fact_inventory_movements') }}
),

bounds as (
    select
        {% if w is none -%}
            cast(null as date) as start_day,
            (select max(partition_date) from movements) as end_day
        {%- else -%}
            date '{{ w.min }}' as start_day,
            greatest(
                date '{{ w.max }}' - 1
                {%- if last_built is not none %}, date '{{ last_built }}'{% endif %}
            ) as end_day
        {%- endif %}
),

daily as (
    select
        m.partition_date as date_day,
        m.store_id,
        m.product_id,
        sum(m.quantity_change) as quantity_change,
        count(*) as movements
    from movements as m, bounds as b
    where (b.start_day is null or m.partition_date >= b.start_day) and m.partition_date <= b.end_day
    group by all
),

opening as (
    -- the stock at the end of the day before the window (nothing for a full build)
    select m.store_id, m.product_id, sum(m.quantity_change) as opening_level
    from movements as m, bounds as b
    where m.partition_date < b.start_day
    group by all
),

pairs as (
    select store_id, product_id, min(date_day) as first_day
    from daily
    group by all
    union all
    -- a pair with stock before the window is on the grid from the window's first day
    select store_id, product_id, start_day
    from opening, bounds
),

first_days as (
    select store_id, product_id, min(first_day) as first_day
    from pairs
    group by all
),

grid as (
    select
        f.store_id,
        f.product_id,
        cast(unnest(generate_series(f.first_day, b.end_day, interval 1 day)) as date) as date_day
    from first_days as f, bounds as b
),

levels as (
    select
        g.date_day,
        g.store_id,
        g.product_id,
        coalesce(o.opening_level, 0) + sum(coalesce(d.quantity_change, 0)) over (
            partition by g.store_id, g.product_id order by g.date_day
            rows between unbounded preceding and current row
        ) as stock_level,
        coalesce(d.movements, 0) as movements_today,
        coalesce(d.quantity_change, 0) as quantity_change_today
    from grid as g
    left join daily as d
        on d.store_id = g.store_id and d.product_id = g.product_id and d.date_day = g.date_day
    left join opening as o
        on o.store_id = g.store_id and o.product_id = g.product_id
),

products as (
    select * from {{ ref('int_product_versions') }}
)

select
    l.date_day,
    l.date_day as partition_date,
    l.store_id,
    l.product_id,
    coalesce(p.product_sk, {{ unknown_member_sk() }}) as product_sk,
    cast(l.stock_level as bigint) as stock_level,
    cast(l.stock_level * p.cost_price as decimal(18, 2)) as stock_value_at_cost,
    cast(l.movements_today as bigint) as movements_today,
    cast(l.quantity_change_today as bigint) as quantity_change_today
from levels as l
left join products as p
    on p.product_id = l.product_id and {{ valid_at('p', 'l.date_day') }}
