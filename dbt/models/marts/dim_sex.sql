-- 性别维表 · GB/T 2261.1 codes with SDMX CL_SEX codes.
select
    cast(sex_code as varchar) as sex_code,
    cast(sdmx_code as varchar) as sdmx_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(sort_order as integer) as sort_order
from {{ ref('sex_codes') }}
