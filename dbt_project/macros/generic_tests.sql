{#- Generic tests (no dbt_utils: no package hub here). -#}

{#-
  SCD2 versions of one key never overlap and at most one is current:
  a failing row is a version that starts before the previous version of its key ended, a version
  with valid_to <= valid_from, a version whose is_current disagrees with valid_to IS NULL, or a
  key with more than one current version.
-#}
{% test scd2_non_overlapping(model, column_name, valid_from='valid_from', valid_to='valid_to', is_current='is_current') %}
with versions as (
    select
        {{ column_name }} as version_key,
        {{ valid_from }} as vf,
        {{ valid_to }} as vt,
        {{ is_current }} as cur,
        lag({{ valid_to }}) over (partition by {{ column_name }} order by {{ valid_from }}) as previous_vt,
        lag({{ valid_from }}) over (partition by {{ column_name }} order by {{ valid_from }}) as previous_vf
    from {{ model }}
),

problems as (
    select version_key, vf, 'overlaps the previous version' as problem
    from versions
    where previous_vf is not null and (previous_vt is null or vf < previous_vt)
    union all
    select version_key, vf, 'valid_to not after valid_from'
    from versions
    where vt is not null and vt <= vf
    union all
    select version_key, vf, 'is_current disagrees with valid_to'
    from versions
    where cur is distinct from (vt is null)
    union all
    select version_key, null, 'more than one current version'
    from versions
    group by version_key
    having count(*) filter (where cur) > 1
)

select * from problems
{% endtest %}


{#- The combination of columns is unique (a composite grain). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
