-- 指标乡镇覆盖 · one row per indicator × publishable period × township: do all of the indicator's
-- township-level feeds (coverage_unit 'township': the population, committee members, forms items reported
-- by township) have rows from this township? A numerator and a denominator must cover the same townships:
-- a township not covered by every such feed is left out of the indicator's rollup entirely
-- (int_indicator_components_covered), and the areas above it are flagged incomplete with their coverage.
-- Register feeds (births, deaths, cases...) cover every township once received.
with periods as (
    select indicator_code, period_year
    from {{ ref('int_indicator_periods_assessed') }}
    where is_publishable
),
feed_units as (
    select distinct feed_code, coverage_unit from {{ ref('int_feed_periods_assessed') }}
),
township_feeds as (
    select n.indicator_code, n.feed_code
    from {{ ref('int_indicator_feeds_listed') }} as n
    inner join feed_units as f on f.feed_code = n.feed_code
    where f.coverage_unit = 'township'
),
townships as (
    select area_code as township_code from {{ ref('areas') }} where level = 'township'
),
reported as (
    select distinct feed_code, period_year, township_code
    from {{ ref('int_feed_rows_counted') }}
    where township_code is not null and rows_usable > 0
)
select
    p.indicator_code,
    p.period_year,
    t.township_code,
    count(tf.feed_code) as township_feeds,
    count(r.feed_code) as township_feeds_reported,
    count(tf.feed_code) = count(r.feed_code) as is_covered
from periods as p
cross join townships as t
left join township_feeds as tf on tf.indicator_code = p.indicator_code
left join reported as r
    on r.feed_code = tf.feed_code and r.period_year = p.period_year and r.township_code = t.township_code
group by p.indicator_code, p.period_year, t.township_code
