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
      needs        contract field names of the source extract the indicator needs (default none): a row
                   whose `_invalid_fields` (blanked at ingestion for a defect) holds one of them is left out
                   of the numerator and the denominator; count_exclusions lists it
  A NULL condition counts as false: "not recorded" never counts as a yes.
  A row with an unknown sex counts in the sex total only (component_sex gives '_T'), one with an unknown
  residence in the residence total only: the rollup adds '_T' rows to no F/M or urban/rural cell.
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
where ({{ d.get('filter', 'true') }}) and {{ needs_met(d.get('needs', [])) }}
group by all
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

{#- SQL condition: none of the fields in `needs` was blanked on the row at ingestion. -#}
{% macro needs_met(needs) -%}
    {%- if needs -%} not coalesce(list_has_any(_invalid_fields, {{ field_list(needs) }}), false)
    {%- else -%} true
    {%- endif -%}
{%- endmacro %}

{% macro field_list(fields) -%}
    [{% for f in fields %}'{{ f }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]
{%- endmacro %}

{#-
  count_exclusions(relation, definitions, ...): beside count_components (same arguments), per definition
  the records the indicator could not use, at the component's area:
      field_invalid      a needed field was blanked at ingestion (one row per field); the row's filter may
                         involve that field, so a row counts here unless its filter is certainly false
      sex_unknown        counted in the sex total only (sex 'person' definitions)
      residence_unknown  counted in the residence total only
  Columns: (indicator_code, period_year, area_code, reason_code, field_name, records).
-#}
{% macro count_exclusions(relation, definitions, area_column='township_code', residence_column='residence', sex_column='sex', period_column='period_year') -%}
{%- set parts = [] %}
{%- for d in definitions %}
{%- set code = "'" ~ d['code'] ~ "'" %}
{%- set counted = '(' ~ d.get('filter', 'true') ~ ') and ' ~ needs_met(d.get('needs', [])) %}
{%- if d.get('needs') %}
{%- do parts.append(exclusion_select(code, 'field_invalid', 'field_name',
        '(select *, unnest(list_intersect(_invalid_fields, ' ~ field_list(d['needs']) ~ ')) as field_name from ' ~ relation
        ~ ' where (' ~ d.get('filter', 'true') ~ ') is not false and list_has_any(_invalid_fields, ' ~ field_list(d['needs']) ~ '))',
        'true', period_column, area_column)) %}
{%- endif %}
{%- if d.get('sex', 'person') == 'person' %}
{%- do parts.append(exclusion_select(code, 'sex_unknown', "'" ~ sex_column ~ "'", relation,
        counted ~ ' and ' ~ component_sex(sex_column) ~ " = '_T'", period_column, area_column)) %}
{%- endif %}
{%- if residence_column %}
{%- do parts.append(exclusion_select(code, 'residence_unknown', "'" ~ residence_column ~ "'", relation,
        counted ~ ' and ' ~ residence_column ~ ' is null', period_column, area_column)) %}
{%- endif %}
{%- endfor %}
{%- if parts %}{{ parts | join('\nunion all\n') }}
{%- else %}{{ exclusion_select("'none'", 'none', 'null', '(select 1) as nothing', 'false', 'null', 'null') }}
{%- endif %}
{%- endmacro %}

{% macro exclusion_select(code, reason_code, field_name, relation, condition, period_column, area_column) -%}
select
    cast({{ code }} as varchar) as indicator_code,
    cast({{ period_column }} as integer) as period_year,
    cast({{ area_column }} as varchar) as area_code,
    cast('{{ reason_code | replace("'", "") }}' as varchar) as reason_code,
    cast({{ field_name }} as varchar) as field_name,
    count(*) as records
from {{ relation }}
where {{ condition }}
group by all
{%- endmacro %}

{#- Denominator rows from the resident population (int_population_by_age_group) for one indicator. -#}
{#- years_from: a relation whose period_years bound the rows, so that a year without numerator
    data shows no value instead of a false zero. -#}
{#- by_residence=false labels the rows residence '_T', for numerators whose source has no residence. A cell whose
    sex or residence was blanked at ingestion counts in the sex or residence total only, like a record. -#}
{% macro population_components(code, age_group, sex='person', years_from=none, by_residence=true) -%}
select
    {{ component_columns(
        "'" ~ code ~ "'", 'period_year', 'township_code',
        component_sex_expression(sex, 'sex'), "'" ~ age_group ~ "'", "coalesce(residence, '_T')" if by_residence else "'_T'",
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
