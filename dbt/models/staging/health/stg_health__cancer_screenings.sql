-- 妇女宫颈癌、乳腺癌筛查 · one row per screening of a woman. Rename and cast; period_year is the statistical year of the event (audit_columns).
select
    cast(screening_id as varchar) as screening_id,
    cast(person_pid as varchar) as person_pid,
    cast(birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(screening_type as varchar) as screening_type,
    cast(screening_date as date) as screening_date,
    cast(result as varchar) as screening_result,
    cast(treated as boolean) as is_treated,
    {{ audit_columns(event_date='cast(screening_date as date)') }}
from {{ gated_source('health', 'cancer_screening') }}
