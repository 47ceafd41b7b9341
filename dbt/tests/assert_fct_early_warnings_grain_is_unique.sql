-- 预警事实表粒度唯一：指标 × 评估年度 × 区域 × 性别。The grain of fct_early_warnings is unique.
select indicator_code, as_of_year, area_code, sex, count(*) as n
from {{ ref('fct_early_warnings') }}
group by 1, 2, 3, 4
having count(*) > 1
