-- 年度报告·全区分性别数值 · the annual report's district figures: every indicator × year × sex at the indicator's
-- defining age group, residence total, for the reporting district (the county-level area values are rolled up to).
-- `is_assessed_sex` marks the sex its target is judged on (dim_indicator.assessed_sex); `effective_target` is the
-- target that applies to that row (fct_target_attainment), so the report's trend chart reads one row per point.
with district as (
    select area_code, name_zh from {{ ref('dim_area') }}
    where level = 'county' and is_reported
    order by area_code
    limit 1
)

select
    cast(v.period_year as integer) as period_year,
    cast(v.area_code as varchar) as area_code,
    cast(d.name_zh as varchar) as area_name_zh,
    cast(v.indicator_code as varchar) as indicator_code,
    cast(v.sex as varchar) as sex,
    cast(v.sex = i.assessed_sex as boolean) as is_assessed_sex,
    cast(v.value as double) as value,
    cast(v.numerator as double) as numerator,
    cast(v.denominator as double) as denominator,
    cast(v.small_numbers_flag as boolean) as small_numbers_flag,
    cast(v.incomplete_data_flag as boolean) as incomplete_data_flag,
    cast(v.zero_denominator_flag as boolean) as zero_denominator_flag,
    cast(t.effective_target as double) as effective_target
from {{ ref('fct_indicator_values') }} as v
inner join district as d on d.area_code = v.area_code
inner join {{ ref('dim_indicator') }} as i on i.indicator_code = v.indicator_code and i.age_group_code = v.age_group_code
left join {{ ref('fct_target_attainment') }} as t
    on
        t.indicator_code = v.indicator_code and t.period_year = v.period_year and t.area_code = v.area_code
        and t.sex = v.sex and t.age_group_code = v.age_group_code
where v.residence = '_T'
