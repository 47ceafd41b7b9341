-- 部门统计报表 · one value per (form item, area, sex, age group) per calendar year. Rename and cast only.
-- area_code is a township code, or the district code for district-level figures;
-- sex is '1' | '2' | 'T'; age_group_code an age_groups code or '_T'.
select
    cast(item_code as varchar) as item_code,
    cast(township_code as varchar) as area_code,
    cast(sex as varchar) as sex,
    cast(age_group as varchar) as age_group_code,
    cast(value as double) as value,
    cast(_source_department as varchar) as source_department,
    {{ audit_columns() }}
from {{ gated_source('forms', 'forms') }}
