-- 分性别口径：仅合计指标（出生性别比、女性比例等）只有性别_T行；女性专属指标只有性别2行；
-- 分性别指标的男女行都有合计行。Sex scope of each indicator is respected.
with v as (
    select v.*, i.sex_scope
    from {{ ref('fct_indicator_values') }} as v
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = v.indicator_code
)
select indicator_code, period_year, area_code, sex, age_group_code, residence, sex_scope
from v
where (sex_scope = 'total_only' and sex <> '_T')
   or (sex_scope = 'female_only' and sex <> '2')
   or (sex_scope = 'by_sex' and sex <> '_T' and not exists (
        select 1 from v as t
        where t.indicator_code = v.indicator_code and t.period_year = v.period_year and t.area_code = v.area_code
          and t.age_group_code = v.age_group_code and t.residence = v.residence and t.sex = '_T'))
