-- 区域维表 · areas with level, parent and whether indicator values are rolled up to them.
select
    cast(a.area_code as varchar) as area_code,
    cast(a.name_zh as varchar) as name_zh,
    cast(a.name_en as varchar) as name_en,
    cast(a.level as varchar) as level,
    cast(l.sort_order as integer) as level_order,
    cast(l.label_zh as varchar) as level_zh,
    cast(a.parent_code as varchar) as parent_code,
    cast(a.area_type_zh as varchar) as area_type_zh,
    cast(a.vintage as integer) as vintage,
    cast(a.level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %}) as boolean) as is_reported
from {{ ref('areas') }} as a
left join {{ ref('area_level_labels') }} as l on l.level = a.level
