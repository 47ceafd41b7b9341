-- 指标值事实表 · one tidy row per indicator × period year × area × sex × age group × residence.
-- Totals (sex '_T', residence '_T', district) are rows. See int_indicator_values_computed for the
-- value and CI rules, int_parity_indices_derived for gender parity indices.
with values_all as (
    select * from {{ ref('int_indicator_values_computed') }}
    union all by name
    select * from {{ ref('int_parity_indices_derived') }}
)
select
    cast(v.indicator_code as varchar) as indicator_code,
    cast(v.period_year as integer) as period_year,
    cast(cat.period_basis as varchar) as period_basis,
    cast(v.area_code as varchar) as area_code,
    cast(area.level as varchar) as area_level,
    cast(v.sex as varchar) as sex,
    cast(sex.sdmx_code as varchar) as sex_sdmx,
    cast(v.age_group_code as varchar) as age_group_code,
    cast(v.residence as varchar) as residence,
    cast(v.numerator as double) as numerator,
    cast(v.denominator as double) as denominator,
    cast(v.value as double) as value,
    cast(v.unit as varchar) as unit,
    cast(v.factor as double) as factor,
    cast(v.ci_lower as double) as ci_lower,
    cast(v.ci_upper as double) as ci_upper,
    cast(v.ci_method as varchar) as ci_method,
    cast(v.small_numbers_flag as boolean) as small_numbers_flag,
    cast(v.zero_denominator_flag as boolean) as zero_denominator_flag,
    cast(v.incomplete_data_flag as boolean) as incomplete_data_flag,
    cast(v.townships_expected as integer) as townships_expected,
    cast(v.townships_covered as integer) as townships_covered,
    cast(case when v.townships_covered < v.townships_expected
              then v.townships_covered || '/' || v.townships_expected || ' 个乡镇街道' end as varchar) as coverage_zh,
    cast(coalesce(v.is_target_judgeable, true) as boolean) as is_target_judgeable
from values_all as v
inner join {{ ref('indicator_catalogue') }} as cat on cat.indicator_code = v.indicator_code
left join {{ ref('areas') }} as area on area.area_code = v.area_code
left join {{ ref('sex_codes') }} as sex on sex.sex_code = v.sex
