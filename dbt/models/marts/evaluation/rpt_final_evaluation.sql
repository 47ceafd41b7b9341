-- 终期监测评估 · the plan period as a whole, one row per indicator × county-level area: the baseline (2020,
-- or the indicator's own baseline year), the latest year with a value and its verdict, the trend over the
-- period, the change in the gender gap, the spread between townships and between urban and rural areas, and
-- how far the value is from the target. Verdicts are fct_early_warnings' (the same rules as the yearly
-- warnings: pooled rare events, confidence intervals, directional targets); the final evaluation's class
-- (达标 / 基本达标 / 未达标 / 无法评估) comes from seed status_labels. Built from whatever years are in, so it
-- can be previewed before the target year; `is_final` says whether the latest year has reached it.
with indicators as (
    select * from {{ ref('dim_indicator') }}
),

rows_by_year as (
    select w.*
    from {{ ref('fct_early_warnings') }} as w
    inner join {{ ref('dim_area') }} as a on a.area_code = w.area_code
    where a.level = 'county'
),

latest as (
    -- the latest as-of year with a value; an indicator without any value keeps its latest row (no_value)
    select *
    from rows_by_year
    qualify row_number() over (
        partition by indicator_code, area_code order by value is not null desc, as_of_year desc) = 1
),

baseline as (
    select
        r.indicator_code, r.area_code, r.value, r.female_minus_male, r.female_to_male_ratio
    from rows_by_year as r
    inner join indicators as i on i.indicator_code = r.indicator_code
    where r.as_of_year = coalesce(i.baseline_year, {{ var('default_baseline_year') }})
),

assembled as (
    select
        l.area_code,
        i.plan, i.plan_label_zh, i.plan_order, i.domain_zh, i.catalogue_order,
        i.indicator_code, i.name_zh, i.unit_label_zh, i.unit_decimals, i.assessed_sex, i.has_target,
        i.target_short_zh, i.target_kind, i.responsible_department_zh,
        coalesce(i.baseline_year, {{ var('default_baseline_year') }}) as baseline_year,
        coalesce(b.value, i.baseline_value) as baseline_value,
        case when b.value is not null then 'data' when i.baseline_value is not null then 'plan' end as baseline_source,
        l.as_of_year as latest_year,
        l.value as latest_value,
        coalesce(l.assessed_value, l.value) as judged_value,
        l.assessed_ci_lower as judged_ci_lower,
        l.assessed_ci_upper as judged_ci_upper,
        l.pooled_first_year, l.pooled_last_year,
        l.effective_target, l.target_year, l.higher_is_better,
        coalesce(l.status, case when i.has_target then 'no_value' else 'no_target' end) as status,
        l.trend_years, l.trend_first_year, l.trend_slope, l.trend_is_significant, l.projected_value,
        b.female_minus_male as baseline_female_minus_male,
        l.female_minus_male as latest_female_minus_male,
        b.female_to_male_ratio as baseline_female_to_male_ratio,
        l.female_to_male_ratio as latest_female_to_male_ratio,
        l.township_gap, l.urban_minus_rural, l.small_numbers_flag, l.incomplete_data_flag
    from latest as l
    inner join indicators as i on i.indicator_code = l.indicator_code
    left join baseline as b on b.indicator_code = l.indicator_code and b.area_code = l.area_code
),

judged as (
    select
        a.*,
        s.label_zh as status_zh,
        s.evaluation_group,
        s.evaluation_group_zh,
        -- shortfall in the indicator's unit, positive when the target is not reached (levels and bands only)
        case
            when a.target_kind not in ('level', 'reference') or a.effective_target is null or a.judged_value is null then null
            when a.higher_is_better then a.effective_target - a.judged_value
            when not a.higher_is_better then a.judged_value - a.effective_target
        end as shortfall
    from assembled as a
    left join {{ ref('dim_status') }} as s on s.status = a.status
)

select
    cast(area_code as varchar) as area_code,
    cast(plan as varchar) as plan,
    cast(plan_label_zh as varchar) as plan_label_zh,
    cast(plan_order as integer) as plan_order,
    cast(domain_zh as varchar) as domain_zh,
    cast(catalogue_order as integer) as catalogue_order,
    cast(indicator_code as varchar) as indicator_code,
    cast(name_zh as varchar) as name_zh,
    cast(unit_label_zh as varchar) as unit_label_zh,
    cast(unit_decimals as integer) as unit_decimals,
    cast(assessed_sex as varchar) as assessed_sex,
    cast(has_target as boolean) as has_target,
    cast(target_short_zh as varchar) as target_short_zh,
    cast(effective_target as double) as effective_target,
    cast(target_year as integer) as target_year,
    cast(responsible_department_zh as varchar) as responsible_department_zh,
    cast(baseline_year as integer) as baseline_year,
    cast(baseline_value as double) as baseline_value,
    cast(baseline_source as varchar) as baseline_source,
    cast(latest_year as integer) as latest_year,
    cast(latest_value as double) as latest_value,
    cast(latest_value - baseline_value as double) as change_since_baseline,
    cast(judged_value as double) as judged_value,
    cast(judged_ci_lower as double) as judged_ci_lower,
    cast(judged_ci_upper as double) as judged_ci_upper,
    cast(pooled_first_year as integer) as pooled_first_year,
    cast(pooled_last_year as integer) as pooled_last_year,
    cast(status as varchar) as status,
    cast(status_zh as varchar) as status_zh,
    cast(evaluation_group as varchar) as evaluation_group,
    cast(evaluation_group_zh as varchar) as evaluation_group_zh,
    cast(latest_year >= target_year as boolean) as is_final,
    cast(trend_years as integer) as trend_years,
    cast(trend_first_year as integer) as trend_first_year,
    cast(trend_slope as double) as trend_slope,
    cast(trend_is_significant as boolean) as trend_is_significant,
    cast(case
        when trend_slope is null then null
        when not coalesce(trend_is_significant, false) then '无显著变化'
        when trend_slope > 0 then '显著上升'
        else '显著下降'
    end as varchar) as trend_zh,
    cast(projected_value as double) as projected_value,
    cast(baseline_female_minus_male as double) as baseline_female_minus_male,
    cast(latest_female_minus_male as double) as latest_female_minus_male,
    cast(baseline_female_to_male_ratio as double) as baseline_female_to_male_ratio,
    cast(latest_female_to_male_ratio as double) as latest_female_to_male_ratio,
    -- the gender gap as the absolute female − male difference: negative change = the gap narrowed
    cast(abs(latest_female_minus_male) - abs(baseline_female_minus_male) as double) as gender_gap_change,
    cast(case
        when latest_female_minus_male is null or baseline_female_minus_male is null then null
        when abs(latest_female_minus_male) < abs(baseline_female_minus_male) then '缩小'
        when abs(latest_female_minus_male) > abs(baseline_female_minus_male) then '扩大'
        else '不变'
    end as varchar) as gender_gap_trend_zh,
    cast(township_gap as double) as township_gap,
    cast(urban_minus_rural as double) as urban_minus_rural,
    cast(round(shortfall, 6) as double) as shortfall,
    -- distance from the target relative to the target, to rank indicators of different units
    cast(case when shortfall > 0 and effective_target <> 0 then round(shortfall / abs(effective_target), 6) end as double)
        as relative_shortfall,
    cast(case when shortfall > 0 and effective_target <> 0 then
        row_number() over (partition by area_code, shortfall > 0 and effective_target <> 0
                           order by shortfall / abs(effective_target) desc, catalogue_order)
    end as integer) as shortfall_rank,
    cast(small_numbers_flag as boolean) as small_numbers_flag,
    cast(incomplete_data_flag as boolean) as incomplete_data_flag
from judged
