-- 指标区域覆盖 · one row per indicator × publishable period × area (every level of the areas hierarchy):
-- how many of the area's townships it has, how many are covered for the indicator
-- (int_indicator_townships_covered) and which are not. Read by the rollup (values carry their coverage)
-- and by marts.fct_indicator_publication (coverage below the seed's share withholds the value).
select
    t.indicator_code,
    t.period_year,
    anc.ancestor_code as area_code,
    count(*) as townships_expected,
    count(*) filter (where t.is_covered) as townships_covered,
    string_agg(case when not t.is_covered then t.township_code end, ',' order by t.township_code) as townships_missing
from {{ ref('int_indicator_townships_covered') }} as t
inner join {{ ref('int_area_ancestors_resolved') }} as anc on anc.area_code = t.township_code
group by t.indicator_code, t.period_year, anc.ancestor_code
