-- 社会救助对象 · one row per recipient at year end. Rename and cast only.
select
    cast(recipient_id as varchar) as recipient_id,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(programme as varchar) as programme,
    cast(monthly_amount_yuan as double) as monthly_amount_yuan,
    {{ audit_columns() }}
from {{ gated_source('civil_affairs', 'social_assistance') }}
