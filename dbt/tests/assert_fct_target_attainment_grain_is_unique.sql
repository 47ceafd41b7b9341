-- 目标达成表粒度唯一。fct_target_attainment: one row per indicator × year × area (× assessed sex).
select indicator_code, period_year, area_code, sex, count(*) as n_rows
from {{ ref('fct_target_attainment') }}
group by all
having count(*) > 1
