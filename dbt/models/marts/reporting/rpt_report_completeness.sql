-- 年度报告·报送情况 · per feed (extract, or a department's forms) and year at the district and above: the reporting
-- status decided in fct_reporting_completeness, with the files behind it (the current files of that extract and
-- year; a file without a year in its name, e.g. grade_history.csv, serves every year).
with current_files as (
    select extract, source_department, period_year, source_file
    from {{ source('audit', 'file_loads') }}
    where is_current
)

select
    cast(c.period_year as integer) as period_year,
    cast(c.area_code as varchar) as area_code,
    cast(c.feed_code as varchar) as feed_code,
    cast(c.feed_kind as varchar) as feed_kind,
    cast(c.extract_name as varchar) as extract_name,
    cast(c.source_department as varchar) as source_department,
    cast(c.feed_name_zh as varchar) as feed_name_zh,
    cast(c.status as varchar) as status,
    cast(c.status_zh as varchar) as status_zh,
    cast(c.rows_usable as bigint) as rows_usable,
    cast(c.townships_expected as integer) as townships_expected,
    cast(c.townships_reporting as integer) as townships_reporting,
    cast(c.reporting_rate_percent as double) as reporting_rate_percent,
    cast(coalesce(list(f.source_file order by f.source_file) filter (where f.source_file is not null), []) as varchar[])
        as files
from {{ ref('fct_reporting_completeness') }} as c
left join current_files as f
    on
        f.extract = c.extract_name
        and (f.period_year = c.period_year or f.period_year is null)
        and (c.source_department is null or f.source_department = c.source_department)
where c.area_level <> 'township'
group by all
