-- 村（居）委会成员 · one row per member of a village or community committee at year end. Rename and cast only.
select
    cast(committee_code as varchar) as committee_code,
    cast(committee_type as varchar) as committee_type,
    cast(person_pid as varchar) as person_pid,
    cast(sex as varchar) as sex,
    cast(birth_date as date) as birth_date,
    cast(role as varchar) as committee_role,
    cast(party_secretary as boolean) as is_party_secretary,
    {{ audit_columns() }}
from {{ gated_source('civil_affairs', 'committee_members') }}
