-- 核查数值（补齐）· every catalogued figure × expected year × area, zero kept distinct from missing:
-- `value` is 0 where the figure's source has data for the year but none for the area, and NULL
-- (missing) where the source has no data for the year at all (file not sent or rejected).
-- Expected years run from var('validation_first_year') to the latest year of any data. Areas: the
-- district, every township of the areas seed and every committee ever reported, at the levels the
-- figure has. Each cell carries its area's series over the years: count of values, median, median
-- absolute deviation, and the modified z-score 0.6745·|x − median| / MAD (NULL with fewer than
-- var('validation_outlier_min_values') values or MAD = 0).
with catalogue as (
    select * from {{ ref('int_validation_figures_catalogued') }}
),

computed as (
    select * from {{ ref('int_validation_figures_computed') }}
),

bounds as (
    select {{ var('validation_first_year') }} as first_year, max(period_year) as last_year
    from computed
),

years as (
    select cast(unnest(generate_series(first_year, last_year)) as integer) as period_year
    from bounds
    where last_year >= first_year
),

townships as (
    select area_code from {{ ref('areas') }} where level = 'township'
),

committees as (
    select distinct area_code from computed where area_level = 'committee'
),

areas as (
    select c.figure_code, 'county' as area_level, '{{ var("district_code") }}' as area_code
    from catalogue as c
    union all
    select c.figure_code, 'township' as area_level, t.area_code
    from catalogue as c
    cross join townships as t
    where c.has_township_level
    union all
    select c.figure_code, 'committee' as area_level, m.area_code
    from catalogue as c
    cross join committees as m
    where c.has_committee_level
),

-- a source has data for a year when it has any row in it: the county row exists
presence as (
    select figure_code, period_year from computed where area_level = 'county'
),

grid as (
    select
        a.figure_code,
        y.period_year,
        a.area_level,
        a.area_code,
        case when p.figure_code is null then null else coalesce(v.value, 0) end as value
    from areas as a
    cross join years as y
    left join presence as p
        on p.figure_code = a.figure_code and p.period_year = y.period_year
    left join computed as v
        on v.figure_code = a.figure_code and v.period_year = y.period_year
        and v.area_level = a.area_level and v.area_code = a.area_code
),

series as (
    select
        *,
        count(value) over area_series as series_values,
        median(value) over area_series as series_median
    from grid
    window area_series as (partition by figure_code, area_level, area_code)
),

deviations as (
    select
        *,
        median(abs(value - series_median)) over (partition by figure_code, area_level, area_code) as series_mad
    from series
)

select
    figure_code,
    period_year,
    area_level,
    area_code,
    value,
    value is null as is_missing,
    series_values,
    series_median,
    series_mad,
    case
        when value is not null and series_values >= {{ var('validation_outlier_min_values') }} and series_mad > 0
            then round(0.6745 * abs(value - series_median) / series_mad, 6)
    end as modified_z_score
from deviations
