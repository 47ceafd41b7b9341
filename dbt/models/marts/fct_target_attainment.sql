-- 目标达成事实表 · for every indicator with a plan target: per year × area the value, the effective target,
-- whether it is met and the distance to it. The cell judged is dim_indicator.assessed_sex (women/girls where the
-- target is about them), the defining age group and the residence total (int_target_series).
--
-- What is compared (the comparison itself is the macro meets_target, shared with fct_early_warnings):
--   level targets (>=, >, <=, <, =)   the year's value against the target value (the area's own, its level's, else
--                                     the catalogue's: int_area_targets_resolved, seed area_targets)
--   bands (≈ N 左右, balanced)         |value − target| within the tolerance; "保持稳定" (≈ without a value) is a band
--                                     around the baseline
--   another indicator (不低于…比例)    that indicator's value in the same year and area
--   较2020年下降20%                    target = baseline × (1 + target_value / 100)
--   逐步提高 / 持续下降 (increase, decrease)  the plan words a direction, so it is judged year on year: met when the
--                                     value is better than the previous comparable value (the latest earlier year
--                                     with a value, not before the baseline year). A rising share below its 2020
--                                     level is met; one bad last year is not. Not judged up to the baseline year.
-- Rare events: the judged value is the pooled multi-year rate where the series rests on small numbers
-- (assessment_basis 'pooled', window pooled_first_year–pooled_last_year, int_target_series); value stays the
-- year's own.
-- Statistical significance: a level, band or relative target missed by the judged value while its 95 % interval
-- reaches the target is 'not_significant' (差异无统计学意义), met NULL: the data cannot say it is missed.
-- Coverage: a value over only some of its area's townships is not judged ('incomplete_coverage', seed coverage_rules).
-- Published precision: values and targets are compared rounded to the unit's decimals (seed unit_labels).
with indicators as (
    select
        *,
        coalesce(baseline_year, {{ var('default_baseline_year') }}) as baseline_year_used
    from {{ ref('dim_indicator') }}
    where has_target
),
series as (
    select * from {{ ref('int_target_series') }}
),
current_values as (
    select
        i.* replace (t.target_value as target_value, t.target_tolerance as target_tolerance),
        t.target_source, t.target_source_zh,
        s.period_year, s.area_code, s.area_level, s.value, s.small_numbers_flag, s.incomplete_data_flag,
        s.assessed_value, s.assessed_ci_lower, s.assessed_ci_upper, s.assessed_numerator, s.assessed_denominator,
        s.assessment_basis, s.pooled_first_year, s.pooled_last_year, s.pooled_years, s.assessed_incomplete,
        not s.is_target_judgeable as is_coverage_unjudged
    from indicators as i
    inner join series as s on s.indicator_code = i.indicator_code
    inner join {{ ref('int_area_targets_resolved') }} as t
        on t.indicator_code = i.indicator_code and t.area_code = s.area_code
),
previous_values as (
    -- the previous comparable value of a directional target: the latest earlier year with a value, in the plan period
    select
        c.indicator_code, c.area_code, c.period_year,
        arg_max(h.assessed_value, h.period_year) as previous_value,
        max(h.period_year) as previous_year
    from current_values as c
    inner join series as h
        on h.indicator_code = c.indicator_code and h.area_code = c.area_code
       and h.period_year < c.period_year and h.period_year >= c.baseline_year_used
       and h.assessed_value is not null
    where c.target_kind = 'direction'
    group by c.indicator_code, c.area_code, c.period_year
),
with_references as (
    select
        c.*,
        b.assessed_value as baseline_measured,
        coalesce(b.assessed_incomplete, false) as baseline_incomplete,
        r.value as reference_value,
        pv.previous_value,
        pv.previous_year
    from current_values as c
    left join series as b
        on b.indicator_code = c.indicator_code and b.area_code = c.area_code
       and b.period_year = c.baseline_year_used
    left join {{ ref('dim_indicator') }} as ref_ind on ref_ind.indicator_code = c.target_reference_indicator
    left join {{ ref('fct_indicator_values') }} as r
        on r.indicator_code = c.target_reference_indicator and r.area_code = c.area_code
       and r.period_year = c.period_year and r.sex = '_T' and r.age_group_code = ref_ind.age_group_code
       and r.residence = '_T'
    left join previous_values as pv
        on pv.indicator_code = c.indicator_code and pv.area_code = c.area_code and pv.period_year = c.period_year
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
        target_kind in ('direction', 'relative', 'stable') as is_relative
    from with_references
),
with_target as (
    select
        *,
        case
            when target_kind = 'reference' then reference_value
            when target_kind = 'relative' then baseline * (1 + target_value / 100)
            when target_kind = 'direction' then coalesce(previous_value, case when period_year > baseline_year_used then baseline end)
            when target_kind = 'stable' then baseline
            else target_value
        end as effective_target
    from with_baseline
),
assessed as (
    select
        *,
        case
            when assessed_value is null or effective_target is null then null
            when is_coverage_unjudged then null
            when is_relative and period_year <= baseline_year_used then null
            else {{ meets_target('assessed_value', 'target_operator', 'effective_target', 'target_tolerance',
                                 'target_value', 'unit_decimals', 'unit') }}
        end as point_met,
        target_kind <> 'direction'
            and {{ interval_reaches_target('assessed_ci_lower', 'assessed_ci_upper', 'target_operator',
                                           'effective_target', 'target_tolerance', 'target_value') }}
            as interval_reaches_target
    from with_target
),
verdicts as (
    select
        *,
        case when point_met = false and interval_reaches_target then null else point_met end as met,
        case
            when value is null then 'no_value'
            when effective_target is null and target_kind = 'direction' and period_year <= baseline_year_used then 'baseline_period'
            when effective_target is null and target_kind <> 'reference' and is_relative then 'no_baseline'
            when effective_target is null then 'no_target_value'
            when is_relative and period_year <= baseline_year_used then 'baseline_period'
            when is_coverage_unjudged then 'incomplete_coverage'
            when point_met then 'met'
            when interval_reaches_target then 'not_significant'
            else 'not_met'
        end as assessment
    from assessed
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
    cast(target_kind as varchar) as target_kind,
    cast(target_value as double) as target_value,
    cast(target_tolerance as double) as target_tolerance,
    cast(target_source as varchar) as target_source,
    cast(target_source_zh as varchar) as target_source_zh,
    cast(target_reference_indicator as varchar) as target_reference_indicator,
    cast(round(effective_target, 6) as double) as effective_target,
    cast(target_year as integer) as target_year,
    cast(period_year = target_year as boolean) as is_target_year,
    cast(met as boolean) as met,
    cast(round(assessed_value - effective_target, 6) as double) as distance_to_target,
    cast(assessment_basis as varchar) as assessment_basis,
    cast(round(assessed_value, 6) as double) as assessed_value,
    cast(assessed_ci_lower as double) as assessed_ci_lower,
    cast(assessed_ci_upper as double) as assessed_ci_upper,
    cast(assessed_numerator as double) as assessed_numerator,
    cast(assessed_denominator as double) as assessed_denominator,
    cast(pooled_first_year as integer) as pooled_first_year,
    cast(pooled_last_year as integer) as pooled_last_year,
    cast(pooled_years as integer) as pooled_years,
    cast(case when target_kind = 'direction' then previous_year end as integer) as compared_with_year,
    cast(case when is_relative or baseline is not null then baseline_year_used end as integer) as baseline_year,
    cast(baseline as double) as baseline_value,
    cast(baseline_source as varchar) as baseline_source,
    cast(round(assessed_value - baseline, 6) as double) as change_vs_baseline,
    cast(case when baseline <> 0 then round((assessed_value - baseline) / baseline * 100, 6) end as double) as pct_change_vs_baseline,
    cast(assessment as varchar) as assessment,
    cast(small_numbers_flag as boolean) as small_numbers_flag,
    cast(coalesce(assessed_incomplete, false) or (baseline_source = 'measured' and baseline_incomplete) as boolean) as incomplete_data_flag,
    cast(plan_clause as varchar) as plan_clause
from verdicts
