-- 指标分量（可发布、同口径）· the components of int_indicator_components_unioned that may be published:
--   * only periods in which every feed of the indicator is usable (int_indicator_periods_assessed): an
--     indicator withheld for a period has no components, so no false zero or half-computed value appears;
--   * only townships covered by all of the indicator's township-level feeds (int_indicator_townships_covered),
--     so a numerator and its denominator always cover the same townships. Components at areas that are not
--     townships (district-level form figures, grade_history) pass when the period is publishable.
-- What this leaves out is listed in marts.fct_indicator_publication.
select c.*
from {{ ref('int_indicator_components_unioned') }} as c
inner join {{ ref('int_indicator_periods_assessed') }} as p
    on p.indicator_code = c.indicator_code and p.period_year = c.period_year and p.is_publishable
left join {{ ref('int_indicator_townships_covered') }} as t
    on t.indicator_code = c.indicator_code and t.period_year = c.period_year and t.township_code = c.area_code
where coalesce(t.is_covered, true)
