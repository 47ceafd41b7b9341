-- A row of seed area_targets must name an indicator whose catalogue target compares with a value (>=, <=, =, ≈ with
-- a value, balanced): relative targets (increase, decrease, % change on the baseline, another indicator) take the
-- area's own baseline already. The area_code, when given, must be of the row's level, and a level or area may have
-- only one row per indicator.
select t.indicator_code, t.area_level, t.area_code, 'target is relative or missing in the catalogue' as problem
from {{ ref('area_targets') }} as t
left join {{ ref('indicator_catalogue') }} as i on i.indicator_code = t.indicator_code
where i.target_operator is null
   or i.target_operator not in ('>=', '<=', '=', '≈', 'balanced')
   or i.target_reference_indicator is not null
   or (i.target_operator = '≈' and i.target_value is null)
union all
select t.indicator_code, t.area_level, t.area_code, 'area_code is not of area_level'
from {{ ref('area_targets') }} as t
inner join {{ ref('areas') }} as a on a.area_code = t.area_code
where a.level <> t.area_level
union all
select indicator_code, area_level, area_code, 'more than one row for the same level or area'
from {{ ref('area_targets') }}
group by indicator_code, area_level, area_code
having count(*) > 1
