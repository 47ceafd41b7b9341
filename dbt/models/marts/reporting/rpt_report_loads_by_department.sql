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
    cast(report_year as integer) as period_year,
    cast(department as varchar) as department,
    cast(count(*) filter (where is_current) as bigint) as files,
    cast(coalesce(sum(rows_read) filter (where is_current), 0) as bigint) as rows_read,
    cast(coalesce(sum(rows_loaded) filter (where is_current), 0) as bigint) as rows_loaded,
    cast(coalesce(sum(rows_quarantined) filter (where is_current), 0) as bigint) as rows_quarantined,
    cast(coalesce(sum(rows_flagged) filter (where is_current), 0) as bigint) as rows_flagged,
    cast(coalesce(list(source_file order by source_file) filter (where status = 'rejected'), []) as varchar[])
        as rejected_files
from loads
group by report_year, department
