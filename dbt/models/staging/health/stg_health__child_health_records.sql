-- 7岁以下儿童健康管理 · one row per child under 7 in the child health register. Rename and cast only.
-- No event date: the register is the children under management in the statistical year (checks in the
-- year), so the file's year is the row's period_year, unlike births, deaths and screenings.
select
    cast(child_record_id as varchar) as child_record_id,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(health_checks as integer) as health_checks,
    cast(systematic_management as boolean) as is_systematically_managed,
    cast(vision_checked as boolean) as is_vision_checked,
    cast(hemoglobin_g_l as double) as hemoglobin_g_l,
    cast(height_for_age_z as double) as height_for_age_z,
    cast(fully_immunized as boolean) as is_fully_immunized,
    {{ audit_columns() }}
from {{ gated_source('health', 'child_health') }}
