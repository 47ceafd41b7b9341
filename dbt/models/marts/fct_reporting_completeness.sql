-- 报送情况 · reporting completeness: one row per feed (an extract, or a department's statistical form)
-- × expected period × area (the reporting areas above the township, and every township). The reporting
-- rate (报送率) DHIS2 users know: expected, received, usable rows, status and, for township-level
-- feeds, how many townships reported. Form items are in int_feed_periods_assessed (what indicators use).
with feeds as (
    select * from {{ ref('int_feed_periods_assessed') }}
    where feed_kind in ('extract', 'form_file')
),
township_rows as (
    select feed_code, period_year, township_code, rows_usable
    from {{ ref('int_feed_rows_counted') }}
    where township_code is not null
),
townships as (
    select area_code from {{ ref('areas') }} where level = 'township'
),
-- a township's own status: the feed's when the feed is unusable for the year, else whether it has rows
township_status as (
    select
        f.*,
        t.area_code,
        f.status_zh as feed_status_zh,
        coalesce(r.rows_usable, 0) as township_rows_usable,
        case
            when not f.is_usable then f.status
            when coalesce(r.rows_usable, 0) > 0 then 'received'
            when f.coverage_unit = 'township' then 'township_missing'
            else 'no_events'
        end as township_status
    from feeds as f
    cross join townships as t
    left join township_rows as r
        on r.feed_code = f.feed_code and r.period_year = f.period_year and r.township_code = t.area_code
    -- township rows only for feeds that are reported by township (district-level forms have none)
    where f.coverage_unit = 'township' or f.feed_code in (select feed_code from township_rows)
),
top_areas as (
    select distinct ancestor_code as area_code, ancestor_level as area_level
    from {{ ref('int_area_ancestors_resolved') }}
    where ancestor_level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %})
      and ancestor_level <> 'township'
)
select
    cast(f.feed_code as varchar) as feed_code,
    cast(f.feed_kind as varchar) as feed_kind,
    cast(f.extract_name as varchar) as extract_name,
    cast(f.source_department as varchar) as source_department,
    cast(f.feed_name_zh as varchar) as feed_name_zh,
    cast(f.feed_name_en as varchar) as feed_name_en,
    cast(f.period_year as integer) as period_year,
    cast(a.area_code as varchar) as area_code,
    cast(a.area_level as varchar) as area_level,
    cast(f.coverage_unit as varchar) as coverage_unit,
    cast(f.status as varchar) as status,
    cast(f.status_zh as varchar) as status_zh,
    cast(f.rows_usable as bigint) as rows_usable,
    cast(f.townships_expected as integer) as townships_expected,
    cast(f.townships_reporting as integer) as townships_reporting,
    cast(case when f.townships_expected > 0 then round(100.0 * f.townships_reporting / f.townships_expected, 1)
              when f.is_usable then 100.0 else 0.0 end as double) as reporting_rate_percent
from feeds as f
cross join top_areas as a

union all

select
    feed_code, feed_kind, extract_name, source_department, feed_name_zh, feed_name_en, period_year,
    area_code, 'township', coverage_unit, township_status,
    case township_status
        when 'received' then '已报送'
        when 'township_missing' then '缺该乡镇街道'
        when 'no_events' then '无记录（登记中该乡镇无事件）'
        else feed_status_zh
    end,
    township_rows_usable,
    case when coverage_unit = 'township' then 1 end,
    case when coverage_unit = 'township' then case when township_status = 'received' then 1 else 0 end end,
    case when township_status in ('received', 'no_events') then 100.0 else 0.0 end
from township_status
