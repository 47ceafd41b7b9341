-- 学生体质健康与视力监测 · one row per student surveyed in school year period_year. Rename and cast only.
select
    cast(student_id as varchar) as student_id,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(school_type as varchar) as school_type,
    cast(grade as integer) as grade,
    cast(township_code as varchar) as township_code,
    cast(myopia as boolean) as has_myopia,
    cast(fitness_rating as varchar) as fitness_rating,
    cast(caries as boolean) as has_caries,
    {{ audit_columns() }}
from {{ gated_source('education', 'student_health') }}
