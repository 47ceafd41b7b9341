{#- A number as the outputs print it: the unit's published decimals (seed unit_labels via dim_indicator). -#}
{% macro number_text(value, decimals) -%}
    printf('%.' || coalesce({{ decimals }}, 2) || 'f', {{ value }})
{%- endmacro %}
