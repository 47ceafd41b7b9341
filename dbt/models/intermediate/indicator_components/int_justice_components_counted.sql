-- 指标分量：司法 · victims of cases against women and children per 100,000 residents of the
-- group, protection measures for domestic violence victims, and legal aid counts (calendar year).
{%- set victim_rates = justice_definitions()['victim_rates'] %}
{%- set victim_shares = justice_definitions()['victim_shares'] %}
{%- set legal_aid_counts = justice_definitions()['legal_aid_counts'] %}
{%- set victims = ref('int_case_victims_enriched') %}
{%- set legal_aid = ref('stg_justice__legal_aid_recipients') %}

{% call sum_components() %}
{%- for d in victim_rates %}
{{ count_components(victims, [dict(d, numerator='true', denominator='false')], residence_column=none) }}
union all
{{ population_components(d['code'], d['age_group'], d['sex'], years_from=victims, by_residence=false) }}
union all
{%- endfor %}
{{ count_components(victims, victim_shares, residence_column=none) }}
union all
{%- set counts = [] %}{% for d in legal_aid_counts %}{% do counts.append(dict(d, numerator='true', denominator='false')) %}{% endfor %}
{{ count_components(legal_aid, counts, residence_column=none) }}
{% endcall %}
