-- 监测预警事实表 · early warnings ("对预计达标困难、波动较大的监测指标及时进行预警", 儿童规划 四(五)).
-- One row per indicator × as-of year × area (township / district) × assessed sex: the value of the as-of year,
-- the trend up to it, the value projected for the target year, the status, a volatility flag and the largest gaps.
-- Every parameter comes from the seed `warning_rules` (the one place to configure them).
--
-- Series    residence total, the indicator's defining age group, sex '2' where the target applies to women or
--           girls (or the indicator is female-only), else '_T' — the same cells as fct_target_attainment.
-- Trend     OLS of value on year over the last trend_window_years up to the as-of year (years with a value),
--           computed only with at least trend_min_years values:
--             slope = Sxy / Sxx, s² = (Syy − slope·Sxy) / (n − 2), SE(slope) = √(s² / Sxx)
--             projected = ȳ + slope·(target_year − x̄), floored at 0
--             SE(projection) = √(s² · (1 + 1/n + (target_year − x̄)² / Sxx))   (prediction of one new year's value)
-- Status    (attainment itself comes from fct_target_attainment: one definition of "met")
--             no_target 无量化目标 · no_value 无数据 · baseline_period 基线期 · not_assessable 无法评估
--             as-of year ≥ target year:  met 已达标 / missed 未达标
--             before the target year:    met 已达标; not met and the projection meets the target → on_track 有望达标;
--                                        otherwise (projection misses, or too few years for a trend) → at_risk 达标困难
--           The projection is compared with the as-of year's effective target: the area's own baseline for relative
--           targets (逐步提高, 下降, 较2020年下降20%), the other indicator's value where the target is another indicator.
--           projected_to_miss: met now, but the projection misses and the unfavourable slope is significant
--           (|slope| ≥ projection_z · SE).
-- Volatility  |value / previous year − 1| or |value / mean of the previous volatility_reference_years − 1| beyond
--           volatility_bound_pct (a change from 0 to a non-zero value counts as beyond); not raised on small numbers
--           (fewer than var('small_numbers_threshold') = 20 events, or a count below it) when volatility_skip_small_numbers = 1.
-- Gaps      largest township gap (highest − lowest township of the area, for the district rows), urban − rural,
--           female − male (fct_gender_gaps), all in the indicator's unit for the as-of year.
with rules as (
    select
        cast(max(case when rule_code = 'trend_window_years' then value end) as integer) as trend_window_years,
        cast(max(case when rule_code = 'trend_min_years' then value end) as integer) as trend_min_years,
        max(case when rule_code = 'projection_z' then value end) as projection_z,
        max(case when rule_code = 'volatility_bound_pct' then value end) as volatility_bound_pct,
        cast(max(case when rule_code = 'volatility_reference_years' then value end) as integer) as volatility_reference_years,
        coalesce(max(case when rule_code = 'volatility_skip_small_numbers' then value end), 1) = 1 as volatility_skip_small_numbers
    from {{ ref('warning_rules') }}
),
indicators as (
    select
        indicator_code,
        unit,
        age_group_code,
        target_operator,
        target_value,
        target_tolerance,
        coalesce(target_year, 2025) as target_year,
        coalesce(target_sex, case when sex_scope = 'female_only' then '2' else '_T' end) as assessed_sex,
        case
            when target_operator in ('>=', '=', 'increase') then true
            when target_operator in ('<=', 'decrease') then false
            when target_operator = 'pct_change_vs_baseline' then target_value > 0
        end as higher_is_better
    from {{ ref('dim_indicator') }}
),
series as (
    select
        v.indicator_code, v.period_year, v.area_code, v.area_level, v.sex, v.age_group_code,
        v.value, v.small_numbers_flag, v.incomplete_data_flag
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i
        on i.indicator_code = v.indicator_code and v.sex = i.assessed_sex and v.age_group_code = i.age_group_code
    where v.residence = '_T'
),
trend as (
    select
        a.indicator_code, a.area_code, a.sex, a.period_year as as_of_year,
        count(h.value) as n_years,
        min(h.period_year) as first_year,
        regr_slope(h.value, cast(h.period_year as double)) as slope,
        regr_avgx(h.value, cast(h.period_year as double)) as avg_x,
        regr_avgy(h.value, cast(h.period_year as double)) as avg_y,
        regr_sxx(h.value, cast(h.period_year as double)) as sxx,
        regr_syy(h.value, cast(h.period_year as double)) as syy,
        regr_sxy(h.value, cast(h.period_year as double)) as sxy
    from series as a
    cross join rules as r
    left join series as h
        on h.indicator_code = a.indicator_code and h.area_code = a.area_code and h.sex = a.sex
       and h.period_year between a.period_year - r.trend_window_years + 1 and a.period_year
       and h.value is not null
    group by a.indicator_code, a.area_code, a.sex, a.period_year
),
previous as (
    select
        a.indicator_code, a.area_code, a.sex, a.period_year as as_of_year,
        max(case when h.period_year = a.period_year - 1 then h.value end) as previous_value,
        avg(h.value) as previous_mean,
        count(h.value) as previous_mean_years
    from series as a
    cross join rules as r
    left join series as h
        on h.indicator_code = a.indicator_code and h.area_code = a.area_code and h.sex = a.sex
       and h.period_year between a.period_year - r.volatility_reference_years and a.period_year - 1
       and h.value is not null
    group by a.indicator_code, a.area_code, a.sex, a.period_year
),
township_spread as (
    select
        parent.area_code, t.indicator_code, t.sex, t.period_year,
        max(t.value) - min(t.value) as township_gap,
        -- ties on the value are broken by the area code, so that a rerun gives the same row
        -- (arg_max/arg_min alone return any of the tied rows): highest = the last code, lowest = the first
        arg_max(t.area_code, (t.value, t.area_code)) as township_highest_code,
        arg_min(t.area_code, (t.value, t.area_code)) as township_lowest_code,
        count(t.value) as townships_with_value
    from series as t
    inner join {{ ref('dim_area') }} as child on child.area_code = t.area_code and child.level = 'township'
    inner join {{ ref('dim_area') }} as parent on parent.area_code = child.parent_code
    where t.value is not null
    group by parent.area_code, t.indicator_code, t.sex, t.period_year
),
residence_values as (
    select
        v.indicator_code, v.period_year, v.area_code, v.sex,
        max(case when v.residence = 'urban' then v.value end) as urban_value,
        max(case when v.residence = 'rural' then v.value end) as rural_value
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i
        on i.indicator_code = v.indicator_code and v.sex = i.assessed_sex and v.age_group_code = i.age_group_code
    where v.residence in ('urban', 'rural')
    group by v.indicator_code, v.period_year, v.area_code, v.sex
),
sex_gaps as (
    select g.indicator_code, g.period_year, g.area_code, g.female_value, g.male_value, g.female_minus_male, g.female_to_male_ratio
    from {{ ref('fct_gender_gaps') }} as g
    inner join indicators as i on i.indicator_code = g.indicator_code and g.age_group_code = i.age_group_code
    where g.residence = '_T'
),
assembled as (
    select
        s.indicator_code, s.period_year as as_of_year, s.area_code, s.area_level, s.sex, s.age_group_code,
        i.unit, s.value, s.small_numbers_flag, s.incomplete_data_flag,
        i.target_operator, i.target_year, i.higher_is_better,
        -- the area's target value (seed area_targets) where it has one, as fct_target_attainment assessed it
        coalesce(ta.target_value, i.target_value) as target_value,
        coalesce(ta.target_tolerance, i.target_tolerance) as target_tolerance,
        ta.effective_target, ta.met, ta.assessment,
        tr.n_years, tr.first_year,
        tr.n_years >= r.trend_min_years and tr.sxx > 0 as has_trend,
        tr.slope, tr.avg_x, tr.avg_y, tr.sxx,
        case when tr.n_years > 2 and tr.sxx > 0
             then greatest(tr.syy - tr.slope * tr.sxy, 0) / (tr.n_years - 2) end as residual_variance,
        p.previous_value, p.previous_mean, p.previous_mean_years,
        ts.township_gap, ts.township_highest_code, ts.township_lowest_code,
        rv.urban_value, rv.rural_value,
        sg.female_value, sg.male_value, sg.female_minus_male, sg.female_to_male_ratio,
        r.projection_z, r.volatility_bound_pct, r.volatility_skip_small_numbers
    from series as s
    cross join rules as r
    inner join indicators as i on i.indicator_code = s.indicator_code
    left join {{ ref('fct_target_attainment') }} as ta
        on ta.indicator_code = s.indicator_code and ta.period_year = s.period_year and ta.area_code = s.area_code
       and ta.sex = s.sex and ta.age_group_code = s.age_group_code
    left join trend as tr
        on tr.indicator_code = s.indicator_code and tr.area_code = s.area_code and tr.sex = s.sex and tr.as_of_year = s.period_year
    left join previous as p
        on p.indicator_code = s.indicator_code and p.area_code = s.area_code and p.sex = s.sex and p.as_of_year = s.period_year
    left join township_spread as ts
        on ts.indicator_code = s.indicator_code and ts.area_code = s.area_code and ts.sex = s.sex and ts.period_year = s.period_year
    left join residence_values as rv
        on rv.indicator_code = s.indicator_code and rv.area_code = s.area_code and rv.sex = s.sex and rv.period_year = s.period_year
    left join sex_gaps as sg
        on sg.indicator_code = s.indicator_code and sg.area_code = s.area_code and sg.period_year = s.period_year
),
projected as (
    select
        *,
        case when has_trend then greatest(avg_y + slope * (target_year - avg_x), 0) end as projected_value,
        case when has_trend and residual_variance is not null
             then sqrt(residual_variance / sxx) end as slope_se,
        case when has_trend and residual_variance is not null
             then sqrt(residual_variance * (1 + 1.0 / n_years + power(target_year - avg_x, 2) / sxx)) end as projected_se
    from assembled
),
judged as (
    select
        *,
        -- the target test of fct_target_attainment, applied to the projection
        case
            when projected_value is null or effective_target is null then null
            when target_operator = '>=' then projected_value >= effective_target
            when target_operator = '<=' then projected_value <= effective_target
            when target_operator = '=' then projected_value >= effective_target - coalesce(target_tolerance, 0)
            when target_operator in ('≈', 'balanced') then abs(projected_value - effective_target) <= coalesce(target_tolerance, 0) + 1e-9
            when target_operator = 'pct_change_vs_baseline' then
                case when target_value < 0 then projected_value <= effective_target else projected_value >= effective_target end
            when target_operator = 'increase' then projected_value > effective_target
            when target_operator = 'decrease' then projected_value < effective_target or (projected_value = 0 and effective_target = 0)
        end as projected_meets,
        case when previous_value <> 0 then (value - previous_value) / abs(previous_value) * 100 end as yoy_change_pct,
        case when previous_mean <> 0 then (value - previous_mean) / abs(previous_mean) * 100 end as deviation_from_previous_mean_pct
    from projected
),
classified as (
    select
        *,
        case
            when target_operator is null then 'no_target'
            when value is null then 'no_value'
            when assessment = 'baseline_period' then 'baseline_period'
            when met is null then 'not_assessable'
            when as_of_year >= target_year then case when met then 'met' else 'missed' end
            when met then 'met'
            when projected_meets then 'on_track'
            else 'at_risk'
        end as status,
        case
            when target_operator is null or value is null or met is null then null
            when as_of_year >= target_year then 'target_year_value'
            when met then 'current_value'
            when projected_meets is not null then 'trend_projection'
            else 'no_trend'
        end as status_basis,
        coalesce(
            met and as_of_year < target_year and projected_meets = false and slope_se is not null
            and abs(slope) >= projection_z * slope_se
            and (higher_is_better is null or (slope < 0) = higher_is_better),
            false) as projected_to_miss,
        coalesce(
            value is not null
            and not (volatility_skip_small_numbers and (coalesce(small_numbers_flag, false)
                     or (unit = 'count' and abs(value) < {{ var('small_numbers_threshold') }})))
            and (
                abs(coalesce(yoy_change_pct, 0)) > volatility_bound_pct
                or abs(coalesce(deviation_from_previous_mean_pct, 0)) > volatility_bound_pct
                or coalesce(previous_value = 0 and value <> 0, false)
                or coalesce(previous_mean = 0 and value <> 0, false)
            ), false) as volatility_flag
    from judged
),
final as (
    select
        *,
        max(as_of_year) over (partition by indicator_code, area_code, sex) = as_of_year as is_latest,
        status in ('at_risk', 'missed') or projected_to_miss or volatility_flag as is_warning,
        concat_ws('；',
            case status when 'at_risk' then '预计' || target_year || '年难以达标' when 'missed' then target_year || '年未达标' end,
            case when projected_to_miss then '已达标但趋势显著下滑，预计' || target_year || '年不达标' end,
            case when volatility_flag then '波动较大（较上年' || coalesce(printf('%+.1f%%', yoy_change_pct), '—')
                 || '，较前' || previous_mean_years || '年均值' || coalesce(printf('%+.1f%%', deviation_from_previous_mean_pct), '—')
                 || '，界限±' || printf('%g', volatility_bound_pct) || '%）' end
        ) as warning_reasons_zh
    from classified
)
select
    cast(indicator_code as varchar) as indicator_code,
    cast(as_of_year as integer) as as_of_year,
    cast(area_code as varchar) as area_code,
    cast(area_level as varchar) as area_level,
    cast(sex as varchar) as sex,
    cast(age_group_code as varchar) as age_group_code,
    cast(unit as varchar) as unit,
    cast(is_latest as boolean) as is_latest,
    cast(value as double) as value,
    cast(target_operator as varchar) as target_operator,
    cast(round(effective_target, 6) as double) as effective_target,
    cast(target_year as integer) as target_year,
    cast(higher_is_better as boolean) as higher_is_better,
    cast(met as boolean) as met,
    cast(coalesce(n_years, 0) as integer) as trend_years,
    cast(case when has_trend then first_year end as integer) as trend_first_year,
    cast(case when has_trend then round(slope, 6) end as double) as trend_slope,
    cast(round(slope_se, 6) as double) as trend_slope_se,
    cast(round(projected_value, 6) as double) as projected_value,
    cast(round(projected_se, 6) as double) as projected_se,
    cast(round(case when projected_se is not null then greatest(projected_value - projection_z * projected_se, 0) end, 6) as double) as projected_lower,
    cast(round(projected_value + projection_z * projected_se, 6) as double) as projected_upper,
    cast(projected_meets as boolean) as projected_meets,
    cast(status as varchar) as status,
    cast(case status
        when 'met' then '已达标' when 'on_track' then '有望达标' when 'at_risk' then '达标困难' when 'missed' then '未达标'
        when 'baseline_period' then '基线期' when 'not_assessable' then '无法评估' when 'no_value' then '无数据'
        when 'no_target' then '无量化目标' end as varchar) as status_zh,
    cast(status_basis as varchar) as status_basis,
    cast(projected_to_miss as boolean) as projected_to_miss,
    cast(round(previous_value, 6) as double) as previous_value,
    cast(round(yoy_change_pct, 6) as double) as yoy_change_pct,
    cast(round(previous_mean, 6) as double) as previous_mean,
    cast(coalesce(previous_mean_years, 0) as integer) as previous_mean_years,
    cast(round(deviation_from_previous_mean_pct, 6) as double) as deviation_from_previous_mean_pct,
    cast(volatility_flag as boolean) as volatility_flag,
    cast(round(township_gap, 6) as double) as township_gap,
    cast(township_highest_code as varchar) as township_highest_code,
    cast(township_lowest_code as varchar) as township_lowest_code,
    cast(urban_value as double) as urban_value,
    cast(rural_value as double) as rural_value,
    cast(round(urban_value - rural_value, 6) as double) as urban_minus_rural,
    cast(female_value as double) as female_value,
    cast(male_value as double) as male_value,
    cast(female_minus_male as double) as female_minus_male,
    cast(female_to_male_ratio as double) as female_to_male_ratio,
    cast(coalesce(small_numbers_flag, false) as boolean) as small_numbers_flag,
    cast(coalesce(incomplete_data_flag, false) as boolean) as incomplete_data_flag,
    cast(is_warning as boolean) as is_warning,
    cast(nullif(warning_reasons_zh, '') as varchar) as warning_reasons_zh
from final
