-- 死亡登记 · one row per death of a woman aged 10–64 or a child under 18. Rename and cast; period_year is the statistical year of the event (audit_columns).
select
    cast(death_id as varchar) as death_id,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(death_date as date) as death_date,
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(maternal_death as boolean) as is_maternal_death,
    cast(injury_death as boolean) as is_injury_death,
    upper(cast(cause_icd10 as varchar)) as cause_icd10,
    {{ audit_columns(event_date='cast(death_date as date)') }}
from {{ gated_source('health', 'deaths') }}
