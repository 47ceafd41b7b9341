-- 指标值（计算）· value, 95 % confidence interval and flags for every rolled-up component row.
--   value = numerator / denominator × factor (percent 100, ‰ 1000, per 100k 100000, sex ratio 100);
--           counts and years are the numerator itself; NULL when the denominator is zero.
--   CI:    wilson    Wilson score interval (proportions; Poisson when numerator > denominator)
--          poisson   exact Poisson limits of the event count from seed poisson_exact_limits (0..200),
--                    Byar's approximation above 200, divided by the denominator
--          sex_ratio Wilson interval of the male proportion m/(m+f), transformed to m/f × 100
--          none      no interval (administrative totals, non-additive values)
--   coverage: a value over fewer townships than its area has is flagged incomplete; below the share
--          the seed coverage_rules sets for the area's level it is not published at all
--          (marts.fct_indicator_publication lists it as withheld for low coverage).
with rows as (
    select
        r.*,
        cat.unit,
        cat.factor,
        cat.ci_method,
        cat.unit in ('count', 'years') as is_level,
        coalesce(rule.judge_target_when_incomplete, false) as judge_when_incomplete
    from {{ ref('int_indicator_components_rolled_up') }} as r
    inner join {{ ref('indicator_catalogue') }} as cat on cat.indicator_code = r.indicator_code
    left join {{ ref('areas') }} as area on area.area_code = r.area_code
    left join {{ ref('coverage_rules') }} as rule on rule.area_level = area.level
    where r.townships_expected is null
       or r.townships_covered >= coalesce(rule.min_coverage_share_to_publish, 1) * r.townships_expected
),
with_method as (
    select
        *,
        case
            when is_level or ci_method = 'none' then 'none'
            when coalesce(denominator, 0) <= 0 then 'none'
            when ci_method = 'wilson' and numerator > denominator then 'poisson'
            else ci_method
        end as ci_method_used
    from rows
),
limits as (
    select
        m.*,
        case
            when m.ci_method_used = 'wilson' then {{ wilson_lower('m.numerator', 'm.denominator') }}
            when m.ci_method_used = 'poisson' then coalesce(p.lower_95, {{ byar_lower('m.numerator') }}) / m.denominator
            when m.ci_method_used = 'sex_ratio' then {{ wilson_lower('m.numerator', 'm.numerator + m.denominator') }}
        end as lower_raw,
        case
            when m.ci_method_used = 'wilson' then {{ wilson_upper('m.numerator', 'm.denominator') }}
            when m.ci_method_used = 'poisson' then coalesce(p.upper_95, {{ byar_upper('m.numerator') }}) / m.denominator
            when m.ci_method_used = 'sex_ratio' then {{ wilson_upper('m.numerator', 'm.numerator + m.denominator') }}
        end as upper_raw
    from with_method as m
    left join {{ ref('poisson_exact_limits') }} as p
        on m.ci_method_used = 'poisson'
       and m.numerator = round(m.numerator)
       and p.events = cast(m.numerator as integer)
)
select
    indicator_code,
    period_year,
    area_code,
    sex,
    age_group_code,
    residence,
    numerator,
    case when is_level then null else denominator end as denominator,
    case
        when is_level then numerator
        when denominator > 0 then round(numerator / denominator * factor, 6)
    end as value,
    unit,
    factor,
    case
        when ci_method_used = 'sex_ratio' then round(lower_raw / (1 - lower_raw) * factor, 4)
        else round(lower_raw * factor, 4)
    end as ci_lower,
    case
        when ci_method_used = 'sex_ratio' then case when upper_raw < 1 then round(upper_raw / (1 - upper_raw) * factor, 4) end
        else round(upper_raw * factor, 4)
    end as ci_upper,
    ci_method_used as ci_method,
    not is_level and numerator < {{ var('small_numbers_threshold') }} as small_numbers_flag,
    not is_level and coalesce(denominator, 0) = 0 as zero_denominator_flag,
    coalesce(is_incomplete, false) or coalesce(townships_covered < townships_expected, false) as incomplete_data_flag,
    townships_expected,
    townships_covered,
    -- a value over part of its area's townships is not judged against the target (seed coverage_rules)
    not coalesce(townships_covered < townships_expected and not judge_when_incomplete, false) as is_target_judgeable
from limits
