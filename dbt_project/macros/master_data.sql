{#
  Master-data versions, as silver resolves them (shopflow_assets silver tables.py `valid_at` and
  `lookup_time`): versions are half-open [valid_from, valid_to) in whole UTC days, valid_to NULL =
  current; a record looks its version up at its own timestamp, or at 00:00 of its partition day when
  the timestamp is missing. Gold uses the same rule so a fact's version is the one silver checked.
#}

{% macro valid_at(alias, moment) -%}
    ({{ alias }}.valid_from <= {{ moment }} AND ({{ alias }}.valid_to IS NULL OR {{ moment }} < {{ alias }}.valid_to))
{%- endmacro %}


{% macro lookup_moment(timestamp_column, partition_column) -%}
    coalesce({{ timestamp_column }}, {{ partition_column }}::TIMESTAMP)
{%- endmacro %}


{% macro version_sk(key_column, valid_from_column='valid_from') -%}
    {#- Surrogate key of a version: md5 of key|valid_from (stable while the version exists). -#}
    md5({{ key_column }} || '|' || strftime({{ valid_from_column }}, '%Y-%m-%d'))
{%- endmacro %}


{% macro unknown_member_sk() -%}'unknown'{%- endmacro %}


{% macro closed_set(column, values) -%}
    {#- A lower-cased code of a closed set: the value when it is in the set, else 'unknown'. -#}
    CASE WHEN {{ column }} IN ({% for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %})
         THEN {{ column }} ELSE 'unknown' END
{%- endmacro %}


{% macro shopflow_codes(name) -%}
    {#- The closed code sets gold maps to (the same sets silver's contracts flag against; the
        accepted_values tests in models/marts/core/core.yml list them again). -#}
    {%- set codes = {
        'order_status': ['pending', 'completed', 'cancelled', 'refunded'],
        'sales_channel': ['web', 'mobile', 'store', 'marketplace'],
        'payment_method': ['card', 'paypal', 'cash', 'gift_card', 'bank_transfer'],
        'movement_type': ['sale', 'restock', 'return', 'adjustment', 'damage'],
    } -%}
    {{ return(codes[name]) }}
{%- endmacro %}


{% macro money_per(amount, count) -%}
    {#- amount / count to the cent, half up, in exact decimal arithmetic (amount >= 0: revenue).
        DuckDB divides DECIMALs in DOUBLE, and rounding that quotient takes some exact half cents
        down (106.57 / 2 = 53.285 gave 53.28). NULL when count is 0. -#}
    ((2 * cast(round(({{ amount }}) * 100) as hugeint) + ({{ count }}))
        // nullif(2 * ({{ count }}), 0))::DECIMAL(18, 0) * 0.01::DECIMAL(3, 2)
{%- endmacro %}
