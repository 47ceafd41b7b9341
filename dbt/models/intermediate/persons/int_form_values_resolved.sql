-- 报表指标项（取值规则）· one row per form item × year × area with the male, female and total value.
-- Rules, so that nothing is double counted:
--   * level: an item is taken at the level form_items declares (district -> the county-level area,
--     township -> townships); if a year has no rows at that level, the rows of the other level are used;
--   * age: the all-ages row ('_T') if reported, otherwise the single reported age group;
--   * sex: value_total is the reported total ('T') or, if none, male + female; has_sex_breakdown
--     says whether both sexes were reported.
with forms as (
    select
        f.period_year,
        f.item_code,
        f.area_code,
        f.sex,
        f.age_group_code,
        f.value,
        coalesce(item.level, 'district') as item_level,
        area.level as area_level
    from {{ ref('stg_forms__form_values') }} as f
    left join {{ ref('form_items') }} as item on item.item_code = f.item_code
    left join {{ ref('areas') }} as area on area.area_code = f.area_code
),
ranked as (
    select
        *,
        dense_rank() over (
            partition by item_code, period_year
            order by case
                when item_level = 'district' and area_level = 'county' then 0
                when item_level = 'township' and area_level = 'township' then 0
                else 1 end
        ) as level_rank,
        dense_rank() over (
            partition by item_code, period_year, area_code
            order by case when age_group_code = '_T' then 0 else 1 end, age_group_code
        ) as age_rank
    from forms
),
pivoted as (
    select
        item_code,
        period_year,
        area_code,
        any_value(area_level) as area_level,
        any_value(age_group_code) as age_group_code,
        sum(value) filter (where sex = '1') as value_male,
        sum(value) filter (where sex = '2') as value_female,
        sum(value) filter (where sex = 'T') as value_total_reported
    from ranked
    where level_rank = 1 and age_rank = 1
    group by item_code, period_year, area_code
)
select
    item_code,
    period_year,
    area_code,
    area_level,
    age_group_code,
    value_male,
    value_female,
    value_total_reported,
    coalesce(value_total_reported, value_male + value_female) as value_total,
    value_male is not null and value_female is not null as has_sex_breakdown
from pivoted
