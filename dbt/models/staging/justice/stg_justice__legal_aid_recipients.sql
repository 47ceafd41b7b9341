-- 法律援助受援人 · one row per person given legal aid. Rename and cast only.
select
    cast(aid_id as varchar) as aid_id,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(category as varchar) as aid_category,
    {{ audit_columns() }}
from {{ gated_source('justice', 'legal_aid') }}
