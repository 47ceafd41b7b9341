-- 指标分量的区域代码须在区划代码表中（否则汇总时会被丢弃）。
-- Every component's area is in the areas seed (otherwise the rollup would drop it silently).
select c.indicator_code, c.period_year, c.area_code, count(*) as n_rows
from {{ ref('int_indicator_components_unioned') }} as c
left join {{ ref('areas') }} as a on a.area_code = c.area_code
where a.area_code is null
group by all
