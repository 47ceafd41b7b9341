-- 年龄组维表 · age groups of the crosswalk, with their SDMX code. A five-year group that spans the same ages
-- as a life-course group (Y0T4_5Y, 0-4) has that group's SDMX code (Y0T4): SDMX codes say which ages, not
-- which grouping they came from.
select
    cast(age_group_code as varchar) as age_group_code,
    cast(regexp_replace(age_group_code, '_[0-9]+Y$', '') as varchar) as sdmx_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(age_from as integer) as age_from,
    cast(age_to as integer) as age_to,
    cast(kind as varchar) as kind
from {{ ref('age_groups') }}
