-- 目标达成事实表 · for every indicator with a plan target: per year × area (× sex '2' where the target
-- applies to women/girls, or for female-only indicators) the value, the effective target, whether it is
-- met and the distance to it; for targets relative to the 2020 baseline, the baseline and the change.
-- Assessed on the residence total and the indicator's defining age group.
--   >= / <=                 value vs target_value
--   =                       met when value >= target_value − tolerance (全覆盖 / 100 %)
--   ≈ / balanced            |value − target| <= tolerance; ≈ without a value ("保持稳定") targets the baseline
--   target_reference_indicator  the other indicator's value in the same year and area is the target
--   pct_change_vs_baseline  target = baseline × (1 + target_value / 100)
--   increase / decrease     value above / below the baseline; not assessable up to the baseline year
-- Baseline: the measured value in baseline_year for the same area and sex; if missing, the plan's published
-- baseline for the district.
-- Target value and tolerance: the area's own, its level's, else the catalogue's (int_area_targets_resolved,
-- seed area_targets); target_source says which.
-- Coverage: a value over only some of its area's townships (fct_indicator_values.townships_covered) is not
-- judged (fct_indicator_values.is_target_judgeable, seed coverage_rules): assessment 'incomplete_coverage',
-- met NULL - a missing township never flips a verdict silently.
with indicators as (
    select
        *,
        coalesce(target_sex, case when sex_scope = 'female_only' then '2' else '_T' end) as assessed_sex,
        coalesce(baseline_year, {{ var('default_baseline_year') }}) as baseline_year_used
    from {{ ref('dim_indicator') }}
    where has_target
),
vals as (
    select * from {{ ref('fct_indicator_values') }} where residence = '_T'
),
current_values as (
    select
        i.* replace (t.target_value as target_value, t.target_tolerance as target_tolerance),
        t.target_source, t.target_source_zh,
        v.period_year, v.area_code, v.area_level, v.value, v.small_numbers_flag, v.incomplete_data_flag,
        not coalesce(v.is_target_judgeable, true) as is_coverage_unjudged
    from indicators as i
    inner join vals as v
        on v.indicator_code = i.indicator_code and v.sex = i.assessed_sex and v.age_group_code = i.age_group_code
    inner join {{ ref('int_area_targets_resolved') }} as t
        on t.indicator_code = i.indicator_code and t.area_code = v.area_code
),
with_references as (
    select
        c.*,
        b.value as baseline_measured,
        coalesce(b.incomplete_data_flag, false) as baseline_incomplete,
        r.value as reference_value
    from current_values as c
    left join vals as b
        on b.indicator_code = c.indicator_code and b.area_code = c.area_code and b.sex = c.assessed_sex
       and b.age_group_code = c.age_group_code and b.period_year = c.baseline_year_used
    left join {{ ref('dim_indicator') }} as ref_ind on ref_ind.indicator_code = c.target_reference_indicator
    left join vals as r
        on r.indicator_code = c.target_reference_indicator and r.area_code = c.area_code
       and r.period_year = c.period_year and r.sex = '_T' and r.age_group_code = ref_ind.age_group_code
),
with_baseline as (
    select
        *,
        case
            when baseline_measured is not null then baseline_measured
            when area_code = '{{ var('district_code') }}' then baseline_value
        end as baseline,
        case
            when baseline_measured is not null then 'measured'
            when area_code = '{{ var('district_code') }}' and baseline_value is not null then 'plan'
        end as baseline_source,
        target_operator in ('increase', 'decrease', 'pct_change_vs_baseline')
            or (target_operator = '≈' and target_value is null) as is_relative
    from with_references
),
with_target as (
    select
        *,
        case
            when target_reference_indicator is not null then reference_value
            when target_operator = 'pct_change_vs_baseline' then baseline * (1 + target_value / 100)
            when target_operator in ('increase', 'decrease') then baseline
            when target_operator = '≈' and target_value is null then baseline
            else target_value
        end as effective_target
    from with_baseline
),
assessed as (
    select
        *,
        case
            when value is null or effective_target is null then null
            when is_coverage_unjudged then null
            when is_relative and period_year <= baseline_year_used then null
            when target_operator = '>=' then value >= effective_target
            when target_operator = '<=' then value <= effective_target
            when target_operator = '=' then value >= effective_target - coalesce(target_tolerance, 0)
            when target_operator in ('≈', 'balanced') then abs(value - effective_target) <= coalesce(target_tolerance, 0) + 1e-9
            when target_operator = 'pct_change_vs_baseline' then
                case when target_value < 0 then value <= effective_target else value >= effective_target end
            when target_operator = 'increase' then value > effective_target
            -- a rate already at zero cannot fall further: staying at zero keeps the goal
            when target_operator = 'decrease' then value < effective_target or (value = 0 and effective_target = 0)
        end as met
    from with_target
)
select
    cast(indicator_code as varchar) as indicator_code,
    cast(period_year as integer) as period_year,
    cast(area_code as varchar) as area_code,
    cast(area_level as varchar) as area_level,
    cast(assessed_sex as varchar) as sex,
    cast(age_group_code as varchar) as age_group_code,
    cast(unit as varchar) as unit,
    cast(value as double) as value,
    cast(target_operator as varchar) as target_operator,
    cast(target_value as double) as target_value,
    cast(target_tolerance as double) as target_tolerance,
    cast(target_source as varchar) as target_source,
    cast(target_source_zh as varchar) as target_source_zh,
    cast(target_reference_indicator as varchar) as target_reference_indicator,
    cast(round(effective_target, 6) as double) as effective_target,
    cast(target_year as integer) as target_year,
    cast(period_year = target_year as boolean) as is_target_year,
    cast(met as boolean) as met,
    cast(round(value - effective_target, 6) as double) as distance_to_target,
    cast(case when is_relative or baseline is not null then baseline_year_used end as integer) as baseline_year,
    cast(baseline as double) as baseline_value,
    cast(baseline_source as varchar) as baseline_source,
    cast(round(value - baseline, 6) as double) as change_vs_baseline,
    cast(case when baseline <> 0 then round((value - baseline) / baseline * 100, 6) end as double) as pct_change_vs_baseline,
    cast(
        case
            when value is null then 'no_value'
            when effective_target is null and target_reference_indicator is null and is_relative then 'no_baseline'
            when effective_target is null then 'no_target_value'
            when is_relative and period_year <= baseline_year_used then 'baseline_period'
            when is_coverage_unjudged then 'incomplete_coverage'
            when met then 'met'
            else 'not_met'
        end as varchar) as assessment,
    cast(small_numbers_flag as boolean) as small_numbers_flag,
    cast(coalesce(incomplete_data_flag, false) or (baseline_source = 'measured' and baseline_incomplete) as boolean) as incomplete_data_flag,
    cast(plan_clause as varchar) as plan_clause
from assessed
