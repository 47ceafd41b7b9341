-- 统计期口径维表 · what a period year means for each basis (seed period_bases): its first and last day.
-- The SDMX time period of a year is decided here (macro sdmx_time_period), read by the submission.
select
    cast(period_basis as varchar) as period_basis,
    cast(sdmx_code as varchar) as sdmx_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(description_zh as varchar) as description_zh,
    cast(description_en as varchar) as description_en,
    cast(start_month as integer) as start_month,
    cast(start_day as integer) as start_day,
    cast(start_year_offset as integer) as start_year_offset,
    cast(sort_order as integer) as sort_order
from {{ ref('period_bases') }}
