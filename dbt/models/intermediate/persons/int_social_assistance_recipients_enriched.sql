-- 社会救助对象（补充属性）· recipients with age at year end. Grain: one row per recipient per year.
select
    period_year,
    recipient_id,
    person_pid,
    sex,
    birth_date,
    {{ age_in_years('birth_date', period_end_date('period_year', 'calendar')) }} as age_years,
    township_code,
    residence,
    programme,
    monthly_amount_yuan,
    _invalid_fields
from {{ ref('stg_civil_affairs__social_assistance_recipients') }}
