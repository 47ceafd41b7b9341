-- 目标评估序列 · the series a target is judged on: per indicator with a target × year × area, the cell the target
-- is about (assessed sex of dim_indicator, the defining age group, residence total) with the value that is judged.
--
-- Rare events (MCH practice: maternal mortality, child deaths by cause, any rate on fewer than
-- var('small_numbers_threshold') = 20 events): a series with a small-numbers year anywhere is judged on pooled
-- rates — Σ numerators / Σ denominators over the rare_event_pool_years (seed warning_rules, 3) years ending in
-- the year, the years that have a value — with the exact Poisson (seed poisson_exact_limits) or Wilson interval
-- of the pooled counts. The decision is per series (indicator × area × sex), so that a series is never judged
-- partly on single years and partly on pooled ones. Only additive rates (aggregation 'sum', numerator and
-- denominator, a Poisson or Wilson interval) are pooled; the published yearly value is unchanged.
with rules as (
    select cast(coalesce(max(case when rule_code = 'rare_event_pool_years' then value end), 3) as integer) as pool_years
    from {{ ref('warning_rules') }}
),
indicators as (
    select indicator_code, assessed_sex, age_group_code, unit, factor, ci_method, aggregation
    from {{ ref('dim_indicator') }}
    where has_target
),
cells as (
    select
        v.indicator_code, v.period_year, v.area_code, v.area_level, v.sex, v.age_group_code, v.unit,
        v.numerator, v.denominator, v.value, v.ci_lower, v.ci_upper, v.ci_method,
        coalesce(v.small_numbers_flag, false) as small_numbers_flag,
        coalesce(v.incomplete_data_flag, false) as incomplete_data_flag,
        coalesce(v.is_target_judgeable, true) as is_target_judgeable,
        i.factor,
        i.aggregation = 'sum' and v.ci_method in ('poisson', 'wilson') and v.denominator is not null as is_poolable
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i
        on i.indicator_code = v.indicator_code and v.sex = i.assessed_sex and v.age_group_code = i.age_group_code
    where v.residence = '_T'
),
series_kind as (
    select
        indicator_code, area_code, sex,
        bool_or(small_numbers_flag) and bool_and(is_poolable or value is null) as is_rare_series
    from cells
    group by indicator_code, area_code, sex
),
pooled as (
    select
        c.indicator_code, c.area_code, c.sex, c.period_year,
        min(h.period_year) as pooled_first_year,
        max(h.period_year) as pooled_last_year,
        count(h.period_year) as pooled_years,
        sum(h.numerator) as pooled_numerator,
        sum(h.denominator) as pooled_denominator,
        bool_or(h.incomplete_data_flag) as pooled_incomplete
    from cells as c
    cross join rules as r
    inner join cells as h
        on h.indicator_code = c.indicator_code and h.area_code = c.area_code and h.sex = c.sex
       and h.period_year between c.period_year - r.pool_years + 1 and c.period_year
       and h.numerator is not null and h.denominator > 0
    group by c.indicator_code, c.area_code, c.sex, c.period_year
),
pooled_limits as (
    select
        p.*,
        c.factor,
        c.ci_method,
        p.pooled_numerator / p.pooled_denominator * c.factor as pooled_value,
        case
            when c.ci_method = 'wilson' and p.pooled_numerator <= p.pooled_denominator
                then {{ wilson_lower('p.pooled_numerator', 'p.pooled_denominator') }}
            else coalesce(e.lower_95, {{ byar_lower('p.pooled_numerator') }}) / p.pooled_denominator
        end * c.factor as pooled_ci_lower,
        case
            when c.ci_method = 'wilson' and p.pooled_numerator <= p.pooled_denominator
                then {{ wilson_upper('p.pooled_numerator', 'p.pooled_denominator') }}
            else coalesce(e.upper_95, {{ byar_upper('p.pooled_numerator') }}) / p.pooled_denominator
        end * c.factor as pooled_ci_upper
    from pooled as p
    inner join cells as c
        on c.indicator_code = p.indicator_code and c.area_code = p.area_code and c.sex = p.sex
       and c.period_year = p.period_year
    left join {{ ref('poisson_exact_limits') }} as e
        on not (c.ci_method = 'wilson' and p.pooled_numerator <= p.pooled_denominator)
       and p.pooled_numerator = round(p.pooled_numerator)
       and e.events = cast(p.pooled_numerator as integer)
)
select
    cast(c.indicator_code as varchar) as indicator_code,
    cast(c.period_year as integer) as period_year,
    cast(c.area_code as varchar) as area_code,
    cast(c.area_level as varchar) as area_level,
    cast(c.sex as varchar) as sex,
    cast(c.age_group_code as varchar) as age_group_code,
    cast(c.unit as varchar) as unit,
    cast(c.numerator as double) as numerator,
    cast(c.denominator as double) as denominator,
    cast(c.value as double) as value,
    cast(c.ci_lower as double) as ci_lower,
    cast(c.ci_upper as double) as ci_upper,
    cast(c.small_numbers_flag as boolean) as small_numbers_flag,
    cast(c.incomplete_data_flag as boolean) as incomplete_data_flag,
    cast(c.is_target_judgeable as boolean) as is_target_judgeable,
    cast(coalesce(k.is_rare_series, false) as boolean) as is_rare_series,
    cast(case when k.is_rare_series and c.value is not null then 'pooled' else 'single_year' end as varchar) as assessment_basis,
    cast(case when k.is_rare_series then p.pooled_first_year end as integer) as pooled_first_year,
    cast(case when k.is_rare_series then p.pooled_last_year end as integer) as pooled_last_year,
    cast(case when k.is_rare_series then p.pooled_years end as integer) as pooled_years,
    cast(case when k.is_rare_series and c.value is not null then p.pooled_numerator else c.numerator end as double) as assessed_numerator,
    cast(case when k.is_rare_series and c.value is not null then p.pooled_denominator else c.denominator end as double) as assessed_denominator,
    cast(case when k.is_rare_series and c.value is not null then round(p.pooled_value, 6) else c.value end as double) as assessed_value,
    cast(case when k.is_rare_series and c.value is not null then round(p.pooled_ci_lower, 4) else c.ci_lower end as double) as assessed_ci_lower,
    cast(case when k.is_rare_series and c.value is not null then round(p.pooled_ci_upper, 4) else c.ci_upper end as double) as assessed_ci_upper,
    cast(c.incomplete_data_flag or (k.is_rare_series and coalesce(p.pooled_incomplete, false)) as boolean) as assessed_incomplete
from cells as c
left join series_kind as k on k.indicator_code = c.indicator_code and k.area_code = c.area_code and k.sex = c.sex
left join pooled_limits as p
    on p.indicator_code = c.indicator_code and p.area_code = c.area_code and p.sex = c.sex and p.period_year = c.period_year
