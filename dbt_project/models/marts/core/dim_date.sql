-- One row per calendar day, 2000-01-01 .. 2050-12-31: wide enough for every order, movement,
-- registration and campaign day, built in SQL (no data read).
with days as (
    select cast(d as date) as date_day
    from generate_series(date '2000-01-01', date '2050-12-31', interval 1 day) as t(d)
)

select
    date_day,
    cast(isoyear(date_day) as integer) as iso_year,
    cast(week(date_day) as integer) as iso_week,
    cast(year(date_day) as integer) as year,
    cast(quarter(date_day) as integer) as quarter,
    cast(month(date_day) as integer) as month,
    monthname(date_day) as month_name,
    strftime(date_day, '%Y-%m') as year_month,
    cast(date_trunc('month', date_day) as date) as month_start,
    cast(date_trunc('week', date_day) as date) as week_start,
    cast(isodow(date_day) as integer) as day_of_week,
    dayname(date_day) as day_name,
    isodow(date_day) >= 6 as is_weekend
from days
