-- 报送情况（按报送期）· one row per feed × expected period: was it received, and can it be used?
-- Expected feeds: int_feeds_listed (every extract, every department's forms file, every form item). Expected periods: from var('validation_first_year') (or the first year of any
-- data, if earlier) to the latest period of any data or any file received (a year whose only file was
-- rejected is still expected). Status, the first that applies:
--   gate_failed     the period's file failed a blocking quality rule (audit.gate_verdicts): left out
--   received        usable rows exist
--   no_usable_rows  the current file loaded, but every row was quarantined
--   rejected        a file was received and rejected whole (and no earlier file stands in for it)
--   item_missing    form items only: the department's form arrived without this item
--   not_received    no file
-- A feed is usable for a period only when received.
with counted as (
    select * from {{ ref('int_feed_rows_counted') }}
),
ledger as (
    select
        case when extract = 'forms' then 'forms/' || source_department else extract end as feed_code,
        period_year,
        bool_or(is_current and status = 'loaded') as has_current_file,
        bool_or(status = 'rejected') as has_rejected_file
    from {{ source('audit', 'file_loads') }}
    where extract is not null
    group by all
),
gate as (
    select extract, period_year, bool_and(passed_blocking) as passed_blocking, string_agg(failed_rules, ',') as failed_rules
    from {{ source('audit', 'gate_verdicts') }}
    group by all
),
feeds as (
    select * from {{ ref('int_feeds_listed') }}
),
bounds as (
    select
        least({{ var('validation_first_year') }}, coalesce((select min(period_year) from counted), 9999)) as first_year,
        greatest(
            coalesce((select max(period_year) from counted), 0),
            coalesce((select max(period_year) from ledger where has_current_file or has_rejected_file), 0)
        ) as last_year
),
years as (
    select cast(unnest(generate_series(first_year, last_year)) as integer) as period_year
    from bounds
    where last_year >= first_year
),
townships as (
    select count(*) as n from {{ ref('areas') }} where level = 'township'
),
-- extracts sent whole (grade_history, no period in the file name) cover every period once received
rows_by_period as (
    select
        f.feed_code,
        y.period_year,
        sum(c.rows_usable) as rows_usable,
        count(distinct c.township_code) as townships_reporting
    from feeds as f
    cross join years as y
    inner join counted as c
        on c.feed_code = f.feed_code and (c.period_year = y.period_year or c.period_year is null)
    group by all
),
assessed as (
    select
        f.*,
        y.period_year,
        coalesce(r.rows_usable, 0) as rows_usable,
        case when f.coverage_unit = 'township' then (select n from townships) end as townships_expected,
        case when f.coverage_unit = 'township' then coalesce(r.townships_reporting, 0) end as townships_reporting,
        g.failed_rules,
        case
            when g.passed_blocking = false then 'gate_failed'
            when coalesce(r.rows_usable, 0) > 0 then 'received'
            when f.feed_kind = 'form_item' and file_status.has_current_file then 'item_missing'
            when coalesce(l.has_current_file, file_status.has_current_file) then 'no_usable_rows'
            when coalesce(l.has_rejected_file, file_status.has_rejected_file) then 'rejected'
            else 'not_received'
        end as status
    from feeds as f
    cross join years as y
    left join rows_by_period as r on r.feed_code = f.feed_code and r.period_year = y.period_year
    left join gate as g
        on g.extract = f.extract_name and (g.period_year = y.period_year or g.period_year is null)
    left join ledger as l on l.feed_code = f.feed_code and l.period_year is not distinct from y.period_year
    -- a form item takes the state of its department's file
    left join ledger as file_status
        on f.feed_kind = 'form_item' and file_status.feed_code = 'forms/' || f.source_department
       and file_status.period_year = y.period_year
)
select
    feed_code,
    feed_kind,
    extract_name,
    source_department,
    item_code,
    feed_name_zh,
    feed_name_en,
    coverage_unit,
    period_year,
    rows_usable,
    townships_expected,
    townships_reporting,
    status,
    case status
        when 'received' then '已报送'
        when 'gate_failed' then '未通过阻断性检查'
        when 'no_usable_rows' then '无可用记录（全部行被隔离）'
        when 'rejected' then '整份拒收'
        when 'item_missing' then '报表中缺少该项'
        else '未报送'
    end as status_zh,
    case status
        when 'received' then 'received'
        when 'gate_failed' then 'failed a blocking quality rule'
        when 'no_usable_rows' then 'no usable rows (every row quarantined)'
        when 'rejected' then 'rejected as a whole'
        when 'item_missing' then 'item missing from the form'
        else 'not received'
    end as status_en,
    failed_rules,
    status = 'received' as is_usable
from assessed
