-- 核查数值 · the value of each named figure per period year and area, where its source has data.
-- Grain: one row per figure × period year × area level × area. Every period year in which the source
-- has rows gets a county row (the presence of data); townships and committees only where they have rows
-- (int_validation_figures_completed fills in zeros and tells zero from missing). A figure's `year` says
-- which year a row counts in: the row's period_year (for event records the event's year), or the year
-- in its file's name (file_period_year) for the figures about the files sent (validation_figures).
{%- set figures = validation_figures() %}
{%- set district = var('district_code') %}
{%- for f in figures %}
{%- set measure = f.get('measure', 'count(*)') %}
{%- set year = f.get('year', 'period_year') %}
select
    '{{ f.code }}' as figure_code,
    {{ year }} as period_year,
    'county' as area_level,
    '{{ district }}' as area_code,
    cast(coalesce({{ measure }}, 0) as double) as value
from {{ ref(f.model) }}
where {{ year }} is not null
group by {{ year }}
{%- if f.get('township') %}
union all
select
    '{{ f.code }}' as figure_code,
    {{ year }} as period_year,
    'township' as area_level,
    {{ f.township }} as area_code,
    cast(coalesce({{ measure }}, 0) as double) as value
from {{ ref(f.model) }}
where {{ year }} is not null and {{ f.township }} is not null
group by {{ year }}, {{ f.township }}
{%- endif %}
{%- if f.get('committee') %}
union all
select
    '{{ f.code }}' as figure_code,
    {{ year }} as period_year,
    'committee' as area_level,
    {{ f.committee }} as area_code,
    cast(coalesce({{ measure }}, 0) as double) as value
from {{ ref(f.model) }}
where {{ year }} is not null and {{ f.committee }} is not null
group by {{ year }}, {{ f.committee }}
{%- endif %}
union all
{%- endfor %}
-- forms: one figure per department that reports form items (forms/<department>_<YYYY> files); a file
-- named after another department still counts in forms.records
select
    'forms.' || f.source_department || '.records' as figure_code,
    f.period_year,
    'county' as area_level,
    '{{ district }}' as area_code,
    cast(count(*) as double) as value
from {{ ref('stg_forms__form_values') }} as f
where f.period_year is not null
    and f.source_department in (select department from {{ ref('form_items') }})
group by f.period_year, f.source_department
