-- 年度报告·隔离原因 · per year, department and ingestion rule: how many rows of the current files were quarantined,
-- with the rule's Chinese reason, ranked (the report shows the first 15 of a year).
with years as (
    select distinct period_year from {{ ref('fct_reporting_completeness') }}
),

counted as (
    select
        y.period_year,
        q.department,
        q.rule_id,
        any_value(q.reason_zh) as reason_zh,
        count(*) as n
    from {{ source('audit', 'quarantine') }} as q
    inner join {{ source('audit', 'file_loads') }} as f on f.load_id = q.load_id and f.is_current
    inner join years as y on q.period_year = y.period_year or q.period_year is null
    group by y.period_year, q.department, q.rule_id
)

select
    cast(period_year as integer) as period_year,
    cast(department as varchar) as department,
    cast(rule_id as varchar) as rule_id,
    cast(reason_zh as varchar) as reason_zh,
    cast(n as bigint) as n,
    cast(row_number() over (partition by period_year order by n desc, department, rule_id) as integer) as rank_in_year
from counted
