-- 指标分量：死亡率 · mortality components: deaths of the statistical year over live births of the
-- same statistical year, or over the resident population at 31 Dec of that year.
-- One dict per indicator: `deaths` selects the deaths counted, `per` the denominator, `needs` the fields
-- of the death record it needs (a death with one blanked leaves the numerator; live births count whole).
{%- set definitions = [
    {'code': 'w_hlt_maternal_mortality', 'deaths': 'is_maternal_death', 'sex': 'total', 'per': 'live_births', 'needs': ['maternal_death']},
    {'code': 'c_hlt_neonatal_mortality', 'deaths': 'is_neonatal_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_hlt_infant_mortality', 'deaths': 'is_infant_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_hlt_u5_mortality', 'deaths': 'is_under5_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_saf_injury_mortality', 'deaths': 'is_child_death and is_injury_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'injury_death']},
    {'code': 'c_saf_drowning_mortality', 'deaths': 'is_child_death and is_drowning_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'cause_icd10']},
    {'code': 'c_saf_fall_burn_poisoning_mortality', 'deaths': 'is_child_death and is_fall_burn_poisoning_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'cause_icd10']},
] %}
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
