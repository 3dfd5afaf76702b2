{#
  The partition window of a run, from the dbt vars min_date / max_date (ISO dates, half-open:
  partition_date >= min_date AND partition_date < max_date; never `between`, which would take the
  boundary day twice in two adjacent windows). Both vars or neither: without them a run is a full build.

  A daily-partitioned model is `materialized='partition_window'` (the materialization below) and
  filters its SELECT with {{ partition_window_filter('partition_date') }}.
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


{% macro window_run_on_existing_table() -%}
    {#- Whether this run replaces a window in a table that exists (false at parse time, in a full
        build, and in the first build of the table): the partition_window counterpart of is_incremental(). -#}
    {%- if not execute or partition_window() is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {{ return(relation is not none and relation.type == 'table') }}
{%- endmacro %}


{% macro delete_partition_window(relation, column, open_ended=false) -%}
    {#- The DELETE of the window's rows (open_ended: every row from min_date on). -#}
    delete from {{ relation }} where {{ partition_window_filter(column, open_ended) }}
{%- endmacro %}


{% materialization partition_window, adapter='duckdb' -%}
    {#- A daily-partitioned table.
        No window (no vars), or no table yet: dbt-duckdb's table materialization (create, then swap),
        i.e. a full build (with a window, the first build holds just the window's rows).
        A window on an existing table: DELETE the window's rows and INSERT the model's SELECT (already
        filtered to the window) in one transaction: straight from the query into the table, no
        temporary copy (half the writes of dbt's incremental materialization on a 1,000,000-row day).
        Model config: `partition_column` (default partition_date); `window_open_ended` deletes every
        row from min_date on (inventory_daily). The model's columns must be the table's (same names,
        same order): after a change of columns, run a full build. -#}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- if not window_run_on_existing_table() -%}
        {%- set table_materialization = context['materialization_table_duckdb'] -%}
        {{ return(table_materialization()) }}
    {%- endif -%}

    {%- set column = config.get('partition_column', 'partition_date') -%}
    {%- set open_ended = config.get('window_open_ended', false) -%}
    {%- set existing = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
    {%- set incoming = get_column_schema_from_query(compiled_code) | map(attribute='name') | list -%}
    {%- if existing != incoming -%}
        {{ exceptions.raise_compiler_error(
            "the columns of " ~ this ~ " changed (table: " ~ existing | join(", ") ~ "; model: "
            ~ incoming | join(", ") ~ "): run a full build (dbt build without min_date/max_date) first") }}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {% call statement('main') -%}
        {{ delete_partition_window(target_relation, column, open_ended) }};
        insert into {{ target_relation }} ({{ get_quoted_csv(incoming) }})
        {{ compiled_code }}
    {%- endcall %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
