-- SDMX 数据结构组成 · the components of the submission's data structure definition (seed sdmx_components), in
-- order, with the code list each is coded by and that code list's name.
select
    cast(component_id as varchar) as component_id,
    cast(role as varchar) as role,
    cast(codelist_id as varchar) as codelist_id,
    cast(case when codelist_id is not null then name_zh || '代码表' end as varchar) as codelist_name_zh,
    cast(case when codelist_id is not null then 'Code list: ' || lower(name_en) end as varchar) as codelist_name_en,
    cast(text_type as varchar) as text_type,
    cast(is_required = 'Y' as boolean) as is_required,
    cast(position as integer) as position,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(description_zh as varchar) as description_zh,
    cast(description_en as varchar) as description_en
from {{ ref('sdmx_components') }}
