{#- The SDMX TIME_PERIOD of period year `period_year` on a basis of dim_period_basis (alias `basis`): a calendar
    year is the year itself ('2024'); a year starting on another day is an SDMX time range, its first day and
    one year ('2023-10-01/P1Y' for the 2024 health statistical year), so that no reader takes it for a calendar
    year. -#}
{% macro sdmx_time_period(period_year, basis) -%}
    case
        when {{ basis }}.start_month = 1 and {{ basis }}.start_day = 1 and {{ basis }}.start_year_offset = 0
            then cast({{ period_year }} as varchar)
        else strftime(make_date({{ period_year }} + {{ basis }}.start_year_offset, {{ basis }}.start_month,
                                {{ basis }}.start_day), '%Y-%m-%d') || '/P1Y'
    end
{%- endmacro %}
