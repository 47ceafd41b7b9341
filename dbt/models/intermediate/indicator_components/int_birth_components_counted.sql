-- Rare events (HIV transmission, treatment of infected mothers) use no filter, so a township-year
-- without any infected mother still gets its row (0 ÷ 0, value NULL): zero stays distinct from missing.
-- 指标分量：活产 · indicator components computed from live births (health statistical year).
-- One dict per indicator in macros/indicator_definitions.sql (births_definitions), plus its catalogue row.
{%- set definitions = births_definitions()['definitions'] %}
{#- Births per 1,000 women of an age group: numerator from births by mother's age, denominator the female population. -#}
{%- set per_women = births_definitions()['per_women'] %}
{%- set births = ref('int_births_enriched') %}

{% call sum_components() %}
{{ count_components(births, definitions) }}
{%- for d in per_women %}
union all
{{ count_components(births, [dict(d, numerator='true', denominator='false', sex='female')]) }}
union all
{{ population_components(d['code'], d['age_group'], 'female', years_from=births) }}
{%- endfor %}
{% endcall %}
