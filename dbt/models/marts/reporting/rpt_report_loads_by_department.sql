-- 年度报告·各部门报送文件 · per year and department: the current files and their rows read, loaded, quarantined
-- and flagged (a file without a year in its name counts in every year), and the files rejected as a whole.
with years as (
    select distinct period_year from {{ ref('fct_reporting_completeness') }}
),

loads as (
    select l.*, y.period_year as report_year
    from {{ source('audit', 'file_loads') }} as l
    inner join years as y on l.period_year = y.period_year or l.period_year is null
)

select
    cast(l.report_year as integer) as period_year,
    cast(l.department as varchar) as department,
    cast(count(*) filter (where l.is_current) as bigint) as files,
    cast(coalesce(sum(l.rows_read) filter (where l.is_current), 0) as bigint) as rows_read,
    cast(coalesce(sum(l.rows_loaded) filter (where l.is_current), 0) as bigint) as rows_loaded,
    cast(coalesce(sum(l.rows_quarantined) filter (where l.is_current), 0) as bigint) as rows_quarantined,
    cast(coalesce(sum(l.rows_flagged) filter (where l.is_current), 0) as bigint) as rows_flagged,
    cast(coalesce(list(l.source_file order by l.source_file) filter (where l.status = 'rejected'), []) as varchar[])
        as rejected_files
from loads as l
group by l.report_year, l.department
