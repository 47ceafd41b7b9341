-- 指标数据导出 · every indicator value with the labels the indicator export prints (names, unit and its decimals,
-- area, sex, age group and residence in Chinese, the target that applies to the area) and the sort keys of its
-- rows. The internal edition is these rows; the public edition is the public cells (rpt_disclosure_cells, with the
-- run's suppression decisions) labelled from the same rows.
with area_targets as (
    -- the area's own target where seed area_targets sets one for it or its level (constant over years and sexes)
    select distinct indicator_code, area_code, target_value
    from {{ ref('fct_target_attainment') }}
)

select
    cast(f.indicator_code as varchar) as indicator_code,
    cast(f.period_year as integer) as period_year,
    cast(f.area_code as varchar) as area_code,
    cast(f.sex as varchar) as sex,
    cast(f.age_group_code as varchar) as age_group_code,
    cast(f.residence as varchar) as residence,
    cast(f.numerator as double) as numerator,
    cast(f.denominator as double) as denominator,
    cast(f.value as double) as value,
    cast(f.ci_lower as double) as ci_lower,
    cast(f.ci_upper as double) as ci_upper,
    cast(f.small_numbers_flag as boolean) as small_numbers_flag,
    cast(i.name_zh as varchar) as name_zh,
    cast(i.name_en as varchar) as name_en,
    cast(i.unit as varchar) as unit,
    cast(i.unit_label_zh as varchar) as unit_zh,
    cast(i.unit_decimals as integer) as unit_decimals,
    cast(a.name_zh as varchar) as area_name_zh,
    cast(a.level as varchar) as area_level,
    cast(a.level_zh as varchar) as area_level_zh,
    cast(s.name_zh as varchar) as sex_name_zh,
    cast(g.name_zh as varchar) as age_group_name_zh,
    cast(r.name_zh as varchar) as residence_name_zh,
    cast(i.target_operator as varchar) as target_operator,
    cast(coalesce(t.target_value, i.target_value) as double) as target_value,
    cast(s.sort_order as integer) as sex_order,
    cast(r.sort_order as integer) as residence_order
from {{ ref('fct_indicator_values') }} as f
inner join {{ ref('dim_indicator') }} as i on i.indicator_code = f.indicator_code
left join area_targets as t on t.indicator_code = f.indicator_code and t.area_code = f.area_code
left join {{ ref('dim_area') }} as a on a.area_code = f.area_code
left join {{ ref('dim_sex') }} as s on s.sex_code = f.sex
left join {{ ref('dim_age_group') }} as g on g.age_group_code = f.age_group_code
left join {{ ref('dim_residence') }} as r on r.residence_code = f.residence
