-- 各区划的目标值 · The target value and tolerance in force for each indicator with a target and each area, and where
-- they come from: the area's own row of seed area_targets, else the row for its level, else the indicator catalogue.
-- Only the value and tolerance vary by area; the comparison (>=, <=, ≈ …) is the catalogue's, so that "met"
-- means the same at every level. Relative targets (increase, decrease, % change on the baseline, another
-- indicator's value) take no value and are rejected by the test assert_area_targets_apply_to_valued_targets.
with overrides as (
    select
        t.indicator_code, a.area_code, t.target_value, t.target_tolerance, t.source_zh, t.source_en,
        case when t.area_code is not null then 'area' else 'area_level' end as target_source,
        -- an area's own row beats the row for its whole level
        row_number() over (
            partition by t.indicator_code, a.area_code
            order by case when t.area_code is not null then 0 else 1 end
        ) as precedence
    from {{ ref('area_targets') }} as t
    inner join {{ ref('areas') }} as a
        on a.level = t.area_level and (t.area_code is null or a.area_code = t.area_code)
)
select
    cast(i.indicator_code as varchar) as indicator_code,
    cast(a.area_code as varchar) as area_code,
    cast(coalesce(o.target_value, i.target_value) as double) as target_value,
    cast(coalesce(o.target_tolerance, i.target_tolerance) as double) as target_tolerance,
    cast(coalesce(o.target_source, 'catalogue') as varchar) as target_source,
    cast(coalesce(o.source_zh, i.plan_clause) as varchar) as target_source_zh
from {{ ref('indicator_catalogue') }} as i
cross join {{ ref('areas') }} as a
left join overrides as o
    on o.indicator_code = i.indicator_code and o.area_code = a.area_code and o.precedence = 1
where i.target_operator is not null
