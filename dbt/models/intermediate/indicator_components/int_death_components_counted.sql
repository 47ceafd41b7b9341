-- 指标分量：死亡率 · mortality components: deaths of the statistical year over live births of the
-- same statistical year, or over the resident population at 31 Dec of that year.
-- One dict per indicator: `deaths` selects the deaths counted, `per` the denominator, `needs` the fields
-- of the death record it needs (a death with one blanked leaves the numerator; live births count whole).
{%- set definitions = deaths_definitions()['definitions'] %}
{%- set deaths = ref('int_deaths_classified') %}
{%- set births = ref('int_births_enriched') %}
{%- set death_years = '(select distinct period_year from ' ~ deaths ~ ')' %}

{% call sum_components() %}
{%- for m in definitions %}
-- {{ m['code'] }}: numerator
{{ count_components(deaths, [{'code': m['code'], 'filter': m['deaths'], 'numerator': 'true', 'denominator': 'false',
                              'sex': m['sex'], 'age_group': m.get('age_group', '_T'), 'needs': m['needs']}]) }}
union all
-- {{ m['code'] }}: denominator
{%- if m['per'] == 'live_births' %}
{{ count_components(births, [{'code': m['code'], 'filter': 'period_year in ' ~ death_years, 'numerator': 'false', 'sex': m['sex']}]) }}
{%- else %}
{{ population_components(m['code'], m['age_group'], m['sex'], years_from=deaths) }}
{%- endif %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endcall %}
