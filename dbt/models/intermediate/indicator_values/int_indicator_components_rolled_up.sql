-- 指标分量（汇总）· components summed to every area on the areas seed's parent_code chain whose level
-- is in var('rollup_levels'), to the sex total '_T' (by_sex indicators) and the residence total '_T'.
-- Totals are sums of numerators and denominators, never averages of rates. Indicators with
-- aggregation 'none' (non-additive values such as life expectancy) pass through unchanged.
-- Only publishable components are summed (int_indicator_components_covered: the indicator's feeds are
-- usable for the period and the township is covered by all of them). Each row carries its area's
-- township coverage for the indicator and period: townships_expected (townships of the area) and
-- townships_covered (those whose data could be used); fewer covered than expected is an incomplete value.
with components as (
    select c.*, cat.sex_scope, cat.aggregation
    from {{ ref('int_indicator_components_covered') }} as c
    inner join {{ ref('indicator_catalogue') }} as cat on cat.indicator_code = c.indicator_code
),
ancestors as (
    select area_code, ancestor_code
    from {{ ref('int_area_ancestors_resolved') }}
    where ancestor_level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %})
),
expanded as (
    select
        c.indicator_code,
        c.period_year,
        anc.ancestor_code as area_code,
        case when sx.kind = 'self' then c.sex else '_T' end as sex,
        c.age_group_code,
        case when rs.kind = 'self' then c.residence else '_T' end as residence,
        c.numerator,
        c.denominator,
        c.is_incomplete
    from components as c
    inner join ancestors as anc on anc.area_code = c.area_code
    cross join (values ('self'), ('total')) as sx (kind)
    cross join (values ('self'), ('total')) as rs (kind)
    where c.aggregation = 'sum'
      and (sx.kind = 'self' or (c.sex_scope = 'by_sex' and c.sex <> '_T'))
      and (rs.kind = 'self' or c.residence <> '_T')
),
coverage as (
    select * from {{ ref('int_indicator_area_coverage') }}
),
summed as (
    select
        indicator_code, period_year, area_code, sex, age_group_code, residence,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        bool_or(is_incomplete) as is_incomplete,
        count(*) as component_rows
    from expanded
    group by indicator_code, period_year, area_code, sex, age_group_code, residence

    union all

    select
        indicator_code, period_year, area_code, sex, age_group_code, residence,
        numerator, denominator, is_incomplete, 1 as component_rows
    from components
    where aggregation = 'none'
)
select
    s.*,
    cov.townships_expected,
    cov.townships_covered
from summed as s
left join coverage as cov
    on cov.indicator_code = s.indicator_code and cov.period_year = s.period_year and cov.area_code = s.area_code
