{#- Helpers for person-level facts. -#}

{#- Sex as used at the finest grain of indicator components: '1' | '2', and '_T' where the
    sex is unknown/not stated (0, 9, blank) - such persons count in totals only. -#}
{% macro component_sex(column) -%}
    case when {{ column }} in ('1', '2') then {{ column }} else '_T' end
{%- endmacro %}

{#- Completed years of age on ref_date (birthday rule, 29 Feb counts from 1 Mar in common years). -#}
{% macro age_in_years(birth_date, ref_date) -%}
    (year({{ ref_date }}) - year({{ birth_date }})
     - case when strftime({{ ref_date }}, '%m%d') < strftime({{ birth_date }}, '%m%d') then 1 else 0 end)
{%- endmacro %}

{#- Completed months of age on ref_date. -#}
{% macro age_in_months(birth_date, ref_date) -%}
    ((year({{ ref_date }}) - year({{ birth_date }})) * 12 + month({{ ref_date }}) - month({{ birth_date }})
     - case when day({{ ref_date }}) < day({{ birth_date }}) then 1 else 0 end)
{%- endmacro %}

{#- Last day of the statistical period of period_year:
    mch_year 30 Sep Y (1 Oct Y-1 .. 30 Sep Y); calendar 31 Dec Y; school_year 31 Aug Y+1. -#}
{% macro period_end_date(period_year, basis) -%}
    {%- if basis == 'mch_year' -%} make_date({{ period_year }}, 9, 30)
    {%- elif basis == 'calendar' -%} make_date({{ period_year }}, 12, 31)
    {%- elif basis == 'school_year' -%} make_date({{ period_year }} + 1, 8, 31)
    {%- else -%} {{ exceptions.raise_compiler_error("unknown period basis " ~ basis) }}
    {%- endif -%}
{%- endmacro %}

{#- The statistical year a date falls in, the inverse of period_end_date: mch_year Y for 1 Oct Y-1 .. 30 Sep Y;
    calendar Y; school_year Y for 1 Sep Y .. 31 Aug Y+1. NULL for a NULL date (the caller decides the fallback:
    event records take their file's year, see audit_columns). -#}
{% macro statistical_year(date_column, basis) -%}
    {%- if basis == 'mch_year' -%} (year({{ date_column }}) + case when month({{ date_column }}) >= 10 then 1 else 0 end)
    {%- elif basis == 'calendar' -%} year({{ date_column }})
    {%- elif basis == 'school_year' -%} (year({{ date_column }}) - case when month({{ date_column }}) < 9 then 1 else 0 end)
    {%- else -%} {{ exceptions.raise_compiler_error("unknown period basis " ~ basis) }}
    {%- endif -%}
{%- endmacro %}
