-- 在校学生（补充属性）· students with education level and the flags the enrolment indicators count.
-- Grain: one row per student per school year.
select
    student_id,
    period_year,
    person_pid,
    sex,
    birth_date,
    {{ age_in_years('birth_date', 'make_date(period_year, 8, 31)') }} as age_years,
    township_code,
    residence,
    school_code,
    school_type,
    grade,
    case
        when school_type = 'kindergarten' then 'pre_primary'
        when school_type = 'primary' then 'primary'
        when school_type = 'junior' then 'junior_secondary'
        when school_type in ('senior_general', 'secondary_vocational', 'technical') then 'upper_secondary'
    end as education_level,
    school_type = 'kindergarten' as is_kindergarten,
    school_type in ('senior_general', 'secondary_vocational', 'technical') as is_upper_secondary,
    school_type in ('secondary_vocational', 'technical') as is_vocational,
    -- 初中毕业班: grade 9 (a blank graduating flag is "not recorded", not "no")
    school_type = 'junior' and grade = 9 and coalesce(is_graduating, true) as is_junior_graduate,
    is_left_behind,
    is_migrant,
    has_disability,
    _invalid_fields
from {{ ref('stg_education__students') }}
