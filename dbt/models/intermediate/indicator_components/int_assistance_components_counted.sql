-- 指标分量：社会救助 · female shares of recipients and recipients per 1,000 residents (year end).
{%- set female_shares = assistance_definitions()['female_shares'] %}
{%- set per_population = assistance_definitions()['per_population'] %}
{%- set recipients = ref('int_social_assistance_recipients_enriched') %}

{% call sum_components() %}
{{ count_components(recipients, female_shares) }}
{%- for d in per_population %}
union all
{{ count_components(recipients, [{'code': d['code'], 'filter': d['filter'], 'numerator': 'true', 'denominator': 'false', 'age_group': d['age_group'], 'needs': d['needs']}]) }}
union all
{{ population_components(d['code'], d['age_group'], 'person', years_from=recipients) }}
{%- endfor %}
{% endcall %}
