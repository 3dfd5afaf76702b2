{#- Small generic tests for the business marts (no dbt_utils here: no package hub). -#}

{#- Rows for which a boolean SQL expression is not true (NULL counts as a failure). -#}
{% test business_expression_is_true(model, expression) %}
select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}

{#- A column's non-NULL values lie in [min_value, max_value] (either bound optional). -#}
{% test business_between(model, column_name, min_value=none, max_value=none) %}
select * from {{ model }}
where {{ column_name }} is not null
  and (
    false
    {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
    {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
  )
{% endtest %}

{#- The combination of columns is unique (the grain of a mart with a composite key). -#}
{% test business_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
