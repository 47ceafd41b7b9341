-- 指标未能使用记录表粒度唯一：指标 × 年份 × 区域 × 原因 × 字段。The grain of fct_indicator_exclusions is unique.
select indicator_code, period_year, area_code, reason_code, field_name, count(*) as n
from {{ ref('fct_indicator_exclusions') }}
group by 1, 2, 3, 4, 5
having count(*) > 1
