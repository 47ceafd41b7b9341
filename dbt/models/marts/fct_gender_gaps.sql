-- 性别差距事实表 · for every person-based indicator disaggregated by sex: female value, male value,
-- female/male ratio and female − male difference, per year × area × age group × residence.
-- For enrolment and retention rates the ratio is the gender parity index (GPI).
with indicators as (
    select indicator_code, computed_from
    from {{ ref('dim_indicator') }}
    where sex_scope = 'by_sex' and is_person_based
),
parity_bases as (
    select computed_from as indicator_code
    from {{ ref('dim_indicator') }}
    where derivation = 'gpi'
),
vals as (
    -- the unrounded value, so that ratios and differences are not computed from rounded values
    select
        v.*,
        case
            when v.unit in ('count', 'years') then v.numerator
            when v.denominator > 0 then v.numerator / v.denominator * v.factor
        end as exact_value
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i on i.indicator_code = v.indicator_code
)
select
    cast(f.indicator_code as varchar) as indicator_code,
    cast(f.period_year as integer) as period_year,
    cast(f.area_code as varchar) as area_code,
    cast(f.area_level as varchar) as area_level,
    cast(f.age_group_code as varchar) as age_group_code,
    cast(f.residence as varchar) as residence,
    cast(f.unit as varchar) as unit,
    cast(f.value as double) as female_value,
    cast(m.value as double) as male_value,
    cast(t.value as double) as total_value,
    cast(case when m.exact_value > 0 then round(f.exact_value / m.exact_value, 6) end as double) as female_to_male_ratio,
    cast(round(f.exact_value - m.exact_value, 6) as double) as female_minus_male,
    cast(coalesce(
        f.indicator_code in (select indicator_code from parity_bases)
        or i.computed_from in (select indicator_code from parity_bases), false)
        as boolean) as is_gender_parity_index,
    cast(f.small_numbers_flag or m.small_numbers_flag as boolean) as small_numbers_flag
from vals as f
inner join vals as m
    on m.indicator_code = f.indicator_code and m.period_year = f.period_year and m.area_code = f.area_code
   and m.age_group_code = f.age_group_code and m.residence = f.residence and m.sex = '1'
left join vals as t
    on t.indicator_code = f.indicator_code and t.period_year = f.period_year and t.area_code = f.area_code
   and t.age_group_code = f.age_group_code and t.residence = f.residence and t.sex = '_T'
inner join indicators as i on i.indicator_code = f.indicator_code
where f.sex = '2'
