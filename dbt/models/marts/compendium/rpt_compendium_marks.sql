-- 统计资料注释符号 · the footnote marks of the compendium (seed compendium_marks). A mark that is also a status
-- of attainment (覆盖不全, 无数据) takes its Chinese label and description from dim_status: one vocabulary.
select
    cast(m.mark as varchar) as mark,
    cast(m.symbol as varchar) as symbol,
    cast(m.placement as varchar) as placement,
    cast(coalesce(m.label_zh, s.label_zh) as varchar) as label_zh,
    cast(coalesce(m.label_en, s.label_en) as varchar) as label_en,
    cast(coalesce(m.description_zh, s.description_zh) as varchar) as description_zh,
    cast(m.description_en as varchar) as description_en,
    cast(m.sort_order as integer) as sort_order
from {{ ref('compendium_marks') }} as m
left join {{ ref('dim_status') }} as s on s.status = m.status
