-- 在校学生 · one row per enrolled student at the autumn count of school year period_year. Rename and cast only.
select
    cast(student_id as varchar) as student_id,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(school_code as varchar) as school_code,
    cast(school_type as varchar) as school_type,
    cast(grade as integer) as grade,
    cast(graduating as boolean) as is_graduating,
    cast(left_behind as boolean) as is_left_behind,
    cast(migrant as boolean) as is_migrant,
    cast(disability as boolean) as has_disability,
    {{ audit_columns() }}
from {{ gated_source('education', 'students') }}
