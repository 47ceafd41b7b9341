-- 区域维表 · areas with level, parent and whether indicator values are rolled up to them.
select
    cast(area_code as varchar) as area_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(level as varchar) as level,
    cast(case level when 'province' then 1 when 'prefecture' then 2 when 'county' then 3 when 'township' then 4 end as integer) as level_order,
    cast(parent_code as varchar) as parent_code,
    cast(area_type_zh as varchar) as area_type_zh,
    cast(vintage as integer) as vintage,
    cast(level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %}) as boolean) as is_reported
from {{ ref('areas') }}
