-- 年度报告·乡镇街道数值 · each township's value of every indicator and year, on the sex its target is judged on,
-- at the defining age group and residence total (the report's township comparison).
select
    cast(v.period_year as integer) as period_year,
    cast(v.area_code as varchar) as area_code,
    cast(a.name_zh as varchar) as area_name_zh,
    cast(v.indicator_code as varchar) as indicator_code,
    cast(v.sex as varchar) as sex,
    cast(v.value as double) as value,
    cast(v.small_numbers_flag as boolean) as small_numbers_flag
from {{ ref('fct_indicator_values') }} as v
inner join {{ ref('dim_indicator') }} as i
    on i.indicator_code = v.indicator_code and i.age_group_code = v.age_group_code and i.assessed_sex = v.sex
inner join {{ ref('dim_area') }} as a on a.area_code = v.area_code
where v.area_level = 'township' and v.residence = '_T'
