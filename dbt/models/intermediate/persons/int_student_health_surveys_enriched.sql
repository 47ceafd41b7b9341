-- 学生体质健康与视力监测（补充属性）· survey rows with education level, good/excellent fitness and
-- the same student's myopia status in the previous survey year (for new-myopia incidence).
-- Grain: one row per student per school year.
with surveys as (
    select * from {{ ref('stg_education__student_health_surveys') }}
)
select
    s.student_id,
    s.period_year,
    s.sex,
    s.birth_date,
    s.township_code,
    s.school_type,
    s.grade,
    case
        when s.school_type = 'primary' then 'primary'
        when s.school_type = 'junior' then 'junior_secondary'
        when s.school_type in ('senior_general', 'secondary_vocational', 'technical') then 'upper_secondary'
        when s.school_type = 'kindergarten' then 'pre_primary'
    end as education_level,
    s.has_myopia,
    previous.has_myopia as had_myopia_previous_year,
    s.fitness_rating,
    s.fitness_rating in ('excellent', 'good') as is_fitness_good,
    s.has_caries,
    s._invalid_fields
from surveys as s
left join surveys as previous
    on previous.student_id = s.student_id
   and previous.period_year = s.period_year - 1
