-- 核查数值目录 · every named figure a validation rule may use, whether or not any data has arrived:
-- the figures of macros/validation_figures.sql plus one `forms.<department>.records` per department
-- that reports form items (form_items seed). Grain: one row per figure.
{%- set figures = validation_figures() %}
with listed as (
    {%- for f in figures %}
    select
        '{{ f.code }}' as figure_code,
        '{{ f.department }}' as department,
        '{{ f.name_zh }}' as figure_name_zh,
        '{{ f.name_en }}' as figure_name_en,
        {{ 'true' if f.get('township') else 'false' }} as has_township_level,
        {{ 'true' if f.get('committee') else 'false' }} as has_committee_level
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

form_departments as (
    select distinct department
    from {{ ref('form_items') }}
    where department is not null
)

select * from listed
union all
select
    'forms.' || department || '.records' as figure_code,
    'forms' as department,
    {{ form_department_name_zh('department') }} || '统计报表数值行数' as figure_name_zh,
    'rows of the ' || department || ' form' as figure_name_en,
    false as has_township_level,
    false as has_committee_level
from form_departments
