-- 迟报事件 · event records (births, deaths, screenings) sent in the file of a later statistical year than
-- the one their date falls in. They count in the year of the event (staging: audit_columns) and so revise
-- it; this table makes every such revision visible: the departments' feedback workbooks (迟报 sheet) and the
-- submission diff read it. A late report of a year without a file of its own is not counted in the
-- indicators (int_births_enriched): is_counted_in_indicators = false says so.
-- Grain: one row per extract × file period × event period × township (× the file it came in).
{%- set events = [
    {'extract': 'births', 'name_zh': '出生', 'model': 'stg_health__births', 'date': 'birth_date'},
    {'extract': 'deaths', 'name_zh': '死亡', 'model': 'stg_health__deaths', 'date': 'death_date'},
    {'extract': 'cancer_screening', 'name_zh': '两癌筛查', 'model': 'stg_health__cancer_screenings', 'date': 'screening_date'},
] %}
with late as (
{%- for e in events %}
    select
        '{{ e.extract }}' as extract,
        '{{ e.name_zh }}' as extract_name_zh,
        s.file_period_year,
        s.period_year as event_period_year,
        s.township_code,
        s.source_file,
        s.period_year in (select file_period_year from {{ ref(e.model) }}) as is_counted_in_indicators,
        count(*) as late_records,
        min(s.{{ e.date }}) as first_event_date,
        max(s.{{ e.date }}) as last_event_date
    from {{ ref(e.model) }} as s
    where s.is_late_reported
    group by all
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)
select
    cast(l.extract as varchar) as extract,
    cast(l.extract_name_zh as varchar) as extract_name_zh,
    cast('health' as varchar) as department,
    cast(l.file_period_year as integer) as file_period_year,
    cast(l.event_period_year as integer) as event_period_year,
    cast(l.township_code as varchar) as township_code,
    cast(a.name_zh as varchar) as township_name_zh,
    cast(l.source_file as varchar) as source_file,
    cast(l.late_records as bigint) as late_records,
    cast(l.first_event_date as date) as first_event_date,
    cast(l.last_event_date as date) as last_event_date,
    cast(l.is_counted_in_indicators as boolean) as is_counted_in_indicators
from late as l
left join {{ ref('areas') }} as a on a.area_code = l.township_code
