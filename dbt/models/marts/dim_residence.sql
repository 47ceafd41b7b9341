-- 城乡维表 · urban / rural / total, with the SDMX CL_URBANISATION code.
select
    cast(residence_code as varchar) as residence_code,
    cast(sdmx_code as varchar) as sdmx_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(sort_order as integer) as sort_order
from {{ ref('residence_codes') }}
