-- Every late-reported staging row is in fct_late_reported_events, once (its township join and grouping
-- lose none), and the table's grain (extract × file period × event period × township × file) is unique.
{%- set models = {'births': 'stg_health__births', 'deaths': 'stg_health__deaths',
                  'cancer_screening': 'stg_health__cancer_screenings'} %}
with staged as (
{%- for extract, m in models.items() %}
    select '{{ extract }}' as extract, count(*) filter (where is_late_reported) as late_rows from {{ ref(m) }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
),
marted as (
    select extract, sum(late_records) as late_rows from {{ ref('fct_late_reported_events') }} group by extract
),
grain as (
    select extract, file_period_year, event_period_year, township_code, source_file
    from {{ ref('fct_late_reported_events') }}
    group by all
    having count(*) > 1
)
select s.extract, s.late_rows as staged, coalesce(m.late_rows, 0) as in_mart, 'count' as problem
from staged as s
left join marted as m on m.extract = s.extract
where s.late_rows <> coalesce(m.late_rows, 0)
union all
select extract, null, null, 'duplicate grain ' || file_period_year || '/' || event_period_year || '/' || township_code
from grain
