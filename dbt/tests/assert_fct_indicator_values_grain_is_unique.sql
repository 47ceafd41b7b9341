-- 指标值事实表粒度唯一：指标 × 年份 × 区域 × 性别 × 年龄组 × 城乡。
-- fct_indicator_values has one row per indicator × period year × area × sex × age group × residence.
select indicator_code, period_year, area_code, sex, age_group_code, residence, count(*) as n_rows
from {{ ref('fct_indicator_values') }}
group by all
having count(*) > 1
