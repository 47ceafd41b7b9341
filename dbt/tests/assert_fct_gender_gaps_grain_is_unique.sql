-- 性别差距表粒度唯一。fct_gender_gaps: one row per indicator × year × area × age group × residence.
select indicator_code, period_year, area_code, age_group_code, residence, count(*) as n_rows
from {{ ref('fct_gender_gaps') }}
group by all
having count(*) > 1
