{#-
  The generic indicator computation, step 1: indicator components.

  Every source family emits rows at the finest grain
      (indicator_code, period_year, area_code, sex, age_group_code, residence, numerator, denominator, is_incomplete)
  with sex '1' | '2' | '_T' (only where sex does not apply or is unknown) and residence
  'urban' | 'rural' | '_T' (unknown). Numerators and denominators are additive, so the rollup
  (int_indicator_components_rolled_up) only sums them.
-#}

{#- The component columns with their types, for a select list. -#}
{% macro component_columns(indicator_code, period_year, area_code, sex, age_group_code, residence, numerator, denominator, is_incomplete='false') -%}
    cast({{ indicator_code }} as varchar) as indicator_code,
    cast({{ period_year }} as integer) as period_year,
    cast({{ area_code }} as varchar) as area_code,
    cast({{ sex }} as varchar) as sex,
    cast({{ age_group_code }} as varchar) as age_group_code,
    cast({{ residence }} as varchar) as residence,
    cast({{ numerator }} as double) as numerator,
    cast({{ denominator }} as double) as denominator,
    cast({{ is_incomplete }} as boolean) as is_incomplete
{%- endmacro %}

{#- The sex expression of one component definition:
      'person' -> the person's sex ('1'/'2', '_T' if unknown)
      'female' -> '2' (female-only indicators; rows are filtered to women by the definition)
      'total'  -> '_T' (sex does not apply: ratios, female shares, maternal indicators) -#}
{% macro component_sex_expression(mode, sex_column) -%}
    {%- if mode == 'person' -%} {{ component_sex(sex_column) }}
    {%- elif mode == 'female' -%} '2'
    {%- elif mode == 'total' -%} '_T'
    {%- else -%} {{ exceptions.raise_compiler_error("unknown sex mode " ~ mode) }}
    {%- endif -%}
{%- endmacro %}

{#-
  count_components(relation, definitions, ...): one row of a shared computation per indicator.
  Each definition is a dict:
      code         indicator_code (must be in the indicator catalogue)
      filter       SQL condition selecting the rows of the relation that count at all (default true)
      numerator    SQL condition: rows counted in the numerator
      denominator  SQL condition: rows counted in the denominator (default true)
      weight       SQL expression summed instead of 1 (default 1), e.g. a population count
      sex          'person' | 'female' | 'total' (default 'person')
      age_group    age_group_code of the rows (default '_T'); or age_group_column to take it from a column
  A NULL condition counts as false: "not recorded" never counts as a yes.
-#}
{% macro count_components(relation, definitions, area_column='township_code', residence_column='residence', sex_column='sex', period_column='period_year') -%}
{%- for d in definitions %}
select
    {{ component_columns(
        "'" ~ d['code'] ~ "'",
        period_column,
        area_column,
        component_sex_expression(d.get('sex', 'person'), sex_column),
        d.get('age_group_column', "'" ~ d.get('age_group', '_T') ~ "'"),
        "coalesce(" ~ residence_column ~ ", '_T')" if residence_column else "'_T'",
        "sum(case when " ~ d['numerator'] ~ " then " ~ d.get('weight', '1') ~ " else 0 end)",
        "sum(case when " ~ d.get('denominator', 'true') ~ " then " ~ d.get('weight', '1') ~ " else 0 end)",
    ) }}
from {{ relation }}
where {{ d.get('filter', 'true') }}
group by all
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

{#- Denominator rows from the resident population (int_population_by_age_group) for one indicator. -#}
{#- years_from: a relation whose period_years bound the rows, so that a year without numerator
    data shows no value instead of a false zero. -#}
{#- by_residence=false labels the rows residence '_T', for numerators whose source has no residence. -#}
{% macro population_components(code, age_group, sex='person', years_from=none, by_residence=true) -%}
select
    {{ component_columns(
        "'" ~ code ~ "'", 'period_year', 'township_code',
        component_sex_expression(sex, 'sex'), "'" ~ age_group ~ "'", 'residence' if by_residence else "'_T'",
        '0', 'sum(population)') }}
from {{ ref('int_population_by_age_group') }}
where age_group_code = '{{ age_group }}'
  {%- if sex == 'female' %} and sex = '2'{% endif %}
  {%- if years_from is not none %}
  and period_year in (select distinct period_year from {{ years_from }})
  {%- endif %}
group by all
{%- endmacro %}

{#- Sum the component selects written inside {% call sum_components() %} ... {% endcall %}
    to the component grain (a family may emit numerator and denominator rows separately). -#}
{% macro sum_components() -%}
select
    indicator_code, period_year, area_code, sex, age_group_code, residence,
    sum(numerator) as numerator,
    sum(denominator) as denominator,
    bool_or(is_incomplete) as is_incomplete
from (
{{ caller() }}
) as components
group by indicator_code, period_year, area_code, sex, age_group_code, residence
{%- endmacro %}
