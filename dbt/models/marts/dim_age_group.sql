-- 年龄组维表 · age groups of the crosswalk.
select
    cast(age_group_code as varchar) as age_group_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(age_from as integer) as age_from,
    cast(age_to as integer) as age_to,
    cast(kind as varchar) as kind
from {{ ref('age_groups') }}
