-- 监测预警事实表 · early warnings ("对预计达标困难、波动较大的监测指标及时进行预警", 儿童规划 四(五)).
-- One row per indicator × as-of year × area (township / district) × assessed sex: the value of the as-of year,
-- the trend up to it, the value projected for the target year, the status, a volatility flag and the largest gaps.
-- Parameters come from the seed warning_rules; t quantiles from the seed t_quantiles.
--
-- Series    the cells of fct_target_attainment (dim_indicator.assessed_sex, defining age group, residence total).
-- Trend     OLS of value on year over the last trend_window_years up to the as-of year (years with a value), with
--           at least trend_min_years values, and never on a rare-event series (int_target_series.is_rare_series:
--           a line through yearly counts of 0, 0, 1 … is noise; such series are judged on pooled rates instead):
--             slope = Sxy / Sxx, s² = (Syy − slope·Sxy) / (n − 2), SE(slope) = √(s² / Sxx)
--             projected = ȳ + slope·(target_year − x̄), floored at 0
--             SE(projection) = √(s² · (1 + 1/n + (target_year − x̄)² / Sxx))   (prediction of one new year's value)
--             interval = projected ± t(0.975, n − 2) · SE(projection); the slope is significant when
--             |slope| ≥ t(0.975, n − 2) · SE(slope)   (Student t for the points actually used, not 1.96)
-- Status    (attainment itself comes from fct_target_attainment: one definition of "met")
--             no_target · no_value · baseline_period · not_assessable (incl. incomplete coverage)
--             not_significant 差异无统计学意义: the value misses, but its 95 % interval reaches the target
--             as-of year ≥ target year:  met / missed
--             before the target year:    met; else the projection meets the target → on_track; else at_risk
--           Directional targets (逐步提高 / 持续下降) project a direction: on_track when the trend goes the plan's way.
--           projected_to_miss: met now, but the projection misses and the unfavourable slope is significant.
-- Volatility  |value / previous year − 1| or |value / mean of the previous volatility_reference_years − 1| beyond
--           volatility_bound_pct (a change from 0 to a non-zero value counts as beyond); not raised on small numbers
--           when volatility_skip_small_numbers = 1.
-- Townships   a township row warns only where the judged value rests on at least var('small_numbers_threshold')
--           events (pooled where rare); otherwise warning_withheld_reason_zh says why it does not.
-- Gaps      largest township gap (highest − lowest township of the area, for the district rows), urban − rural,
--           female − male (fct_gender_gaps), all in the indicator's unit for the as-of year.
with rules as (
    select
        cast(max(case when rule_code = 'trend_window_years' then value end) as integer) as trend_window_years,
        cast(max(case when rule_code = 'trend_min_years' then value end) as integer) as trend_min_years,
        max(case when rule_code = 'volatility_bound_pct' then value end) as volatility_bound_pct,
        cast(max(case when rule_code = 'volatility_reference_years' then value end) as integer) as volatility_reference_years,
        coalesce(max(case when rule_code = 'volatility_skip_small_numbers' then value end), 1) = 1 as volatility_skip_small_numbers
    from {{ ref('warning_rules') }}
),
indicators as (
    select
        indicator_code, unit, unit_decimals, age_group_code, assessed_sex, target_operator, target_kind,
        target_value, target_tolerance, higher_is_better,
        coalesce(target_year, 2025) as target_year
    from {{ ref('dim_indicator') }}
),
targeted_series as (
    select * from {{ ref('int_target_series') }}
),
series as (
    -- every indicator, with or without a target: the same cells as int_target_series
    select
        v.indicator_code, v.period_year, v.area_code, v.area_level, v.sex, v.age_group_code,
        v.value, v.numerator, v.small_numbers_flag, v.incomplete_data_flag,
        coalesce(ts.is_rare_series, false) as is_rare_series,
        coalesce(ts.assessed_numerator, v.numerator) as assessed_numerator
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i
        on i.indicator_code = v.indicator_code and v.sex = i.assessed_sex and v.age_group_code = i.age_group_code
    left join targeted_series as ts
        on ts.indicator_code = v.indicator_code and ts.area_code = v.area_code and ts.period_year = v.period_year
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
        i.unit, i.unit_decimals, s.value, s.small_numbers_flag, s.incomplete_data_flag, s.is_rare_series,
        s.assessed_numerator,
        i.target_operator, i.target_kind, i.target_year, i.higher_is_better,
        -- the area's target value (seed area_targets) where it has one, as fct_target_attainment assessed it
        coalesce(ta.target_value, i.target_value) as target_value,
        coalesce(ta.target_tolerance, i.target_tolerance) as target_tolerance,
        ta.effective_target, ta.met, ta.assessment, ta.assessment_basis, ta.assessed_value,
        ta.assessed_ci_lower, ta.assessed_ci_upper, ta.pooled_first_year, ta.pooled_last_year,
        tr.n_years, tr.first_year,
        tr.n_years >= r.trend_min_years and tr.sxx > 0 and not s.is_rare_series as has_trend,
        tr.slope, tr.avg_x, tr.avg_y, tr.sxx,
        case when tr.n_years > 2 and tr.sxx > 0
             then greatest(tr.syy - tr.slope * tr.sxy, 0) / (tr.n_years - 2) end as residual_variance,
        -- Student t for n − 2 degrees of freedom; a df beyond the seed takes its largest df below (conservative)
        (select arg_max(q.quantile, q.degrees_of_freedom) from {{ ref('t_quantiles') }} as q
         where q.probability = 0.975 and q.degrees_of_freedom <= tr.n_years - 2) as t_quantile,
        p.previous_value, p.previous_mean, p.previous_mean_years,
        ts.township_gap, ts.township_highest_code, ts.township_lowest_code,
        rv.urban_value, rv.rural_value,
        sg.female_value, sg.male_value, sg.female_minus_male, sg.female_to_male_ratio,
        r.volatility_bound_pct, r.volatility_skip_small_numbers
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
        case
            when projected_value is null or effective_target is null then null
            -- a direction is projected as a direction: the trend goes the plan's way (or stays at a floor of 0)
            when target_kind = 'direction' then
                case when higher_is_better then slope > 0 else slope < 0 or (slope = 0 and value = 0) end
            else {{ meets_target('projected_value', 'target_operator', 'effective_target', 'target_tolerance',
                                 'target_value', 'unit_decimals', 'unit') }}
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
            when assessment = 'not_significant' then 'not_significant'
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
            and abs(slope) >= t_quantile * slope_se
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
            ), false) as volatility_flag,
        -- a township's verdict needs enough events behind it (pooled where rare) to single the township out
        area_level <> 'township' or assessed_numerator is null
            or assessed_numerator >= {{ var('small_numbers_threshold') }} as numbers_support_warning
    from judged
),
final as (
    select
        *,
        max(as_of_year) over (partition by indicator_code, area_code, sex) = as_of_year as is_latest,
        status in ('at_risk', 'missed') or projected_to_miss or volatility_flag as would_warn,
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
    cast(f.indicator_code as varchar) as indicator_code,
    cast(f.as_of_year as integer) as as_of_year,
    cast(f.area_code as varchar) as area_code,
    cast(f.area_level as varchar) as area_level,
    cast(f.sex as varchar) as sex,
    cast(f.age_group_code as varchar) as age_group_code,
    cast(f.unit as varchar) as unit,
    cast(f.is_latest as boolean) as is_latest,
    cast(f.value as double) as value,
    cast(f.target_operator as varchar) as target_operator,
    cast(round(f.effective_target, 6) as double) as effective_target,
    cast(f.target_year as integer) as target_year,
    cast(f.higher_is_better as boolean) as higher_is_better,
    cast(f.met as boolean) as met,
    cast(f.assessment_basis as varchar) as assessment_basis,
    cast(f.assessed_value as double) as assessed_value,
    cast(f.assessed_ci_lower as double) as assessed_ci_lower,
    cast(f.assessed_ci_upper as double) as assessed_ci_upper,
    cast(f.pooled_first_year as integer) as pooled_first_year,
    cast(f.pooled_last_year as integer) as pooled_last_year,
    cast(coalesce(f.n_years, 0) as integer) as trend_years,
    cast(case when f.has_trend then f.first_year end as integer) as trend_first_year,
    cast(case when f.has_trend then round(f.slope, 6) end as double) as trend_slope,
    cast(round(f.slope_se, 6) as double) as trend_slope_se,
    cast(case when f.slope_se is not null then f.t_quantile end as double) as trend_t_quantile,
    cast(case when f.slope_se is not null then abs(f.slope) >= f.t_quantile * f.slope_se end as boolean) as trend_is_significant,
    cast(round(f.projected_value, 6) as double) as projected_value,
    cast(round(f.projected_se, 6) as double) as projected_se,
    cast(round(case when f.projected_se is not null then greatest(f.projected_value - f.t_quantile * f.projected_se, 0) end, 6) as double) as projected_lower,
    cast(round(f.projected_value + f.t_quantile * f.projected_se, 6) as double) as projected_upper,
    cast(f.projected_meets as boolean) as projected_meets,
    cast(f.status as varchar) as status,
    cast(sl.label_zh as varchar) as status_zh,
    cast(f.status_basis as varchar) as status_basis,
    cast(f.projected_to_miss as boolean) as projected_to_miss,
    cast(round(f.previous_value, 6) as double) as previous_value,
    cast(round(f.yoy_change_pct, 6) as double) as yoy_change_pct,
    cast(round(f.previous_mean, 6) as double) as previous_mean,
    cast(coalesce(f.previous_mean_years, 0) as integer) as previous_mean_years,
    cast(round(f.deviation_from_previous_mean_pct, 6) as double) as deviation_from_previous_mean_pct,
    cast(f.volatility_flag as boolean) as volatility_flag,
    cast(round(f.township_gap, 6) as double) as township_gap,
    cast(f.township_highest_code as varchar) as township_highest_code,
    cast(f.township_lowest_code as varchar) as township_lowest_code,
    cast(f.urban_value as double) as urban_value,
    cast(f.rural_value as double) as rural_value,
    cast(round(f.urban_value - f.rural_value, 6) as double) as urban_minus_rural,
    cast(f.female_value as double) as female_value,
    cast(f.male_value as double) as male_value,
    cast(f.female_minus_male as double) as female_minus_male,
    cast(f.female_to_male_ratio as double) as female_to_male_ratio,
    cast(coalesce(f.small_numbers_flag, false) as boolean) as small_numbers_flag,
    cast(coalesce(f.incomplete_data_flag, false) as boolean) as incomplete_data_flag,
    cast(f.would_warn and f.numbers_support_warning as boolean) as is_warning,
    cast(case when f.would_warn and not f.numbers_support_warning
              then '乡镇事件数不足' || {{ var('small_numbers_threshold') }} || '（' || cast(f.assessed_numerator as integer)
                   || '），不单独预警 · fewer than ' || {{ var('small_numbers_threshold') }} || ' events in the township'
         end as varchar) as warning_withheld_reason_zh,
    cast(nullif(f.warning_reasons_zh, '') as varchar) as warning_reasons_zh
from final as f
left join {{ ref('status_labels') }} as sl on sl.status = f.status
