{#
  The partition window of a run, from the dbt vars min_date / max_date (ISO dates, half-open:
  partition_date >= min_date AND partition_date < max_date; never `between`, which would take the
  boundary day twice in two adjacent windows). Both vars or neither: without them a run is a full build.

  How a daily-partitioned model uses them (config in models/marts/core/*.sql):
    materialized = 'incremental', incremental_strategy = 'partition_window' (below),
    full_refresh = shopflow_full_refresh()   -> no window: a full build, even when the table exists;
    where {{ partition_window_filter('partition_date') }} in the model's SELECT.
#}

{% macro partition_window() -%}
    {#- {'min': 'YYYY-MM-DD', 'max': 'YYYY-MM-DD'}, or none for a full build. Validates the vars. -#}
    {%- set lo = var('min_date', none) -%}
    {%- set hi = var('max_date', none) -%}
    {%- if lo is none and hi is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if lo is none or hi is none -%}
        {{ exceptions.raise_compiler_error("pass both dbt vars min_date and max_date (a half-open window) or neither (a full build); got min_date=" ~ lo ~ ", max_date=" ~ hi) }}
    {%- endif -%}
    {#- YAML turns an unquoted 2026-11-25 into a date: its string is the ISO date again -#}
    {%- set lo = lo | string -%}
    {%- set hi = hi | string -%}
    {%- for value in [lo, hi] -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
            {{ exceptions.raise_compiler_error("min_date / max_date must be ISO dates (YYYY-MM-DD), got '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if lo >= hi -%}
        {{ exceptions.raise_compiler_error("empty window: min_date " ~ lo ~ " must be before max_date " ~ hi ~ " (max_date is exclusive)") }}
    {%- endif -%}
    {{ return({'min': lo, 'max': hi}) }}
{%- endmacro %}


{% macro partition_window_filter(column, open_ended=false) -%}
    {#- The window as a predicate on `column` (true when there is no window).
        open_ended: only the lower bound (column >= min_date): for cumulative tables whose later
        days depend on the window's days. -#}
    {%- set w = partition_window() -%}
    {%- if w is none -%}
        true
    {%- elif open_ended -%}
        ({{ column }} >= DATE '{{ w.min }}')
    {%- else -%}
        ({{ column }} >= DATE '{{ w.min }}' AND {{ column }} < DATE '{{ w.max }}')
    {%- endif -%}
{%- endmacro %}


{% macro shopflow_full_refresh() -%}
    {#- The model's full_refresh config: a full build without a window (dbt would otherwise only
        append to an existing table), never with one (a window run must not drop the other days,
        even when --full-refresh is passed by mistake). -#}
    {{ return(partition_window() is none) }}
{%- endmacro %}


{% macro delete_partition_window(relation, column, open_ended=false) -%}
    {#- The DELETE of the window's rows (open_ended: every row from min_date on). -#}
    delete from {{ relation }} where {{ partition_window_filter(column, open_ended) }}
{%- endmacro %}


{% macro get_incremental_partition_window_sql(arg_dict) -%}
    {#- Custom incremental strategy `partition_window`: replace the window's rows in one transaction
        (dbt-duckdb runs the main statement inside the model's BEGIN ... COMMIT). The model config
        `partition_column` names the key (default partition_date) and `window_open_ended` deletes from
        min_date on (inventory_daily). The model's SELECT is already filtered to the same rows. -#}
    {%- set column = config.get('partition_column', 'partition_date') -%}
    {%- set open_ended = config.get('window_open_ended', false) -%}
    {%- if partition_window() is none -%}
        {{ exceptions.raise_compiler_error("strategy partition_window without min_date/max_date: the model must set full_refresh = shopflow_full_refresh()") }}
    {%- endif -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {{ delete_partition_window(arg_dict["target_relation"], column, open_ended) }};
    insert into {{ arg_dict["target_relation"] }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }} from {{ arg_dict["temp_relation"] }}
{%- endmacro %}
