-- 报送记录数 · usable rows (rows that passed ingestion and the quality gate) per feed × period × township.
-- The period is the file's (reporting_feeds `year`): for event records the year in the file name.
-- A feed is what an indicator depends on: an extract (feed_code = its name), a department's forms file
-- ('forms/<department>') or one form item ('forms:<item_code>'). township_code is NULL for rows without
-- a township (grade_history) and for district-level form figures.
{%- set feeds = reporting_feeds() %}
with extract_rows as (
    {%- for f in feeds %}
    select
        '{{ f.extract }}' as feed_code,
        cast({{ f.get('year', 'period_year') }} as integer) as period_year,
        cast({{ f.township if f.township else 'null' }} as varchar) as township_code,
        count(*) as rows_usable
    from {{ ref(f.model) }}
    group by all
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
forms as (
    select f.*, a.level as area_level
    from {{ ref('stg_forms__form_values') }} as f
    left join {{ ref('areas') }} as a on a.area_code = f.area_code
)
select * from extract_rows
union all
select
    'forms/' || source_department, period_year,
    case when area_level = 'township' then area_code end,
    count(*)
from forms
group by all
union all
select
    'forms:' || item_code, period_year,
    case when area_level = 'township' then area_code end,
    count(*)
from forms
group by all
