-- 指标分量：两癌筛查 · women aged 35–64 screened within the last three statistical years (distinct
-- persons) over women aged 35–64 at 31 Dec of the year; overall (Y35T64) and by five-year age group
-- (every five_year group of the age_groups crosswalk inside 35–64).
-- Also the treatment of the cervical cancers screening found in the year (macros/indicator_definitions.sql,
-- screening_definitions): counted per screening record, not pooled.
{%- set definitions = [
    {'code': 'w_hlt_cervical_screening', 'screening_type': 'cervical'},
    {'code': 'w_hlt_breast_screening', 'screening_type': 'breast'},
] %}
{%- set pooled = ref('int_cancer_screenings_pooled') %}

with age_groups as (
    select age_group_code, age_from, age_to
    from {{ ref('age_groups') }}
    where age_group_code = 'Y35T64'
       or (kind = 'five_year' and age_from >= 35 and age_to <= 64)
)

{% call sum_components() %}
{%- for s in definitions %}
select
    {{ component_columns("'" ~ s['code'] ~ "'", 'p.period_year', 'p.township_code', "'2'", 'g.age_group_code',
                         "coalesce(p.residence, '_T')", 'count(*)', '0', 'bool_or(p.is_incomplete)') }}
from {{ pooled }} as p
inner join age_groups as g on p.age_years between g.age_from and g.age_to
where p.screening_type = '{{ s['screening_type'] }}'
group by all
union all
select
    {{ component_columns("'" ~ s['code'] ~ "'", 'pop.period_year', 'pop.township_code', "'2'", 'pop.age_group_code',
                         "coalesce(pop.residence, '_T')", '0', 'sum(pop.population)') }}
from {{ ref('int_population_by_age_group') }} as pop
where pop.sex = '2'
  and pop.age_group_code in (select age_group_code from age_groups)
  and pop.period_year in (select distinct period_year from {{ pooled }})
group by all
union all
{%- endfor %}
{{ count_components(ref('stg_health__cancer_screenings'), screening_definitions()['treatment']) }}
{% endcall %}
