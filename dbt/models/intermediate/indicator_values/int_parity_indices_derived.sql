-- 性别均等指数（派生）· indicators with derivation 'gpi': the female value of the base indicator
-- (computed_from) divided by its male value, at every area × year × age group × residence where
-- both exist. numerator = female value, denominator = male value.
-- CI: log method, var(ln GPI) = 1/x_f − 1/n_f + 1/x_m − 1/n_m for proportions (Katz), or
-- 1/x_f + 1/x_m when the base rate uses Poisson limits (gross enrolment ratios).
with gpi as (
    select g.indicator_code, g.computed_from as base_code, base.ci_method as base_ci_method
    from {{ ref('indicator_catalogue') }} as g
    inner join {{ ref('indicator_catalogue') }} as base on base.indicator_code = g.computed_from
    where g.derivation = 'gpi'
),
base as (
    select * from {{ ref('int_indicator_values_computed') }}
),
pairs as (
    select
        gpi.indicator_code,
        gpi.base_ci_method,
        f.period_year,
        f.area_code,
        f.age_group_code,
        f.residence,
        f.value as female_value,
        m.value as male_value,
        f.numerator as female_events,
        f.denominator as female_base,
        m.numerator as male_events,
        m.denominator as male_base,
        f.small_numbers_flag or m.small_numbers_flag as small_numbers_flag,
        f.incomplete_data_flag or m.incomplete_data_flag as incomplete_data_flag,
        f.townships_expected,
        f.townships_covered,
        f.is_target_judgeable and m.is_target_judgeable as is_target_judgeable
    from gpi
    inner join base as f on f.indicator_code = gpi.base_code and f.sex = '2'
    inner join base as m
        on m.indicator_code = gpi.base_code and m.sex = '1'
       and m.period_year = f.period_year and m.area_code = f.area_code
       and m.age_group_code = f.age_group_code and m.residence = f.residence
),
computed as (
    select
        *,
        case when male_value > 0 then female_value / male_value end as gpi_value,
        case
            when female_events > 0 and male_events > 0 and female_base > 0 and male_base > 0 then
                case
                    when base_ci_method = 'poisson' then sqrt(1 / female_events + 1 / male_events)
                    else sqrt(greatest(1 / female_events - 1 / female_base + 1 / male_events - 1 / male_base, 0))
                end
        end as se_log
    from pairs
)
select
    indicator_code,
    period_year,
    area_code,
    '_T' as sex,
    age_group_code,
    residence,
    female_value as numerator,
    male_value as denominator,
    round(gpi_value, 6) as value,
    'ratio' as unit,
    1.0 as factor,
    round(gpi_value * exp(-{{ z95() }} * se_log), 4) as ci_lower,
    round(gpi_value * exp({{ z95() }} * se_log), 4) as ci_upper,
    case when se_log is not null and gpi_value is not null then 'katz_log' else 'none' end as ci_method,
    small_numbers_flag,
    coalesce(male_value, 0) = 0 as zero_denominator_flag,
    incomplete_data_flag,
    townships_expected,
    townships_covered,
    is_target_judgeable
from computed
