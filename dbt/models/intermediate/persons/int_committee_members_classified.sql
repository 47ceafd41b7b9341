-- 村（居）委会成员（分类）· committee members with their township (first 9 digits of the
-- committee code) and role flags. Grain: one row per member per committee per year.
select
    period_year,
    committee_code,
    left(committee_code, 9) as township_code,
    committee_type,
    person_pid,
    sex,
    birth_date,
    committee_role,
    committee_role = 'chair' as is_chair,
    coalesce(is_party_secretary, false) as is_party_secretary,
    _invalid_fields
from {{ ref('stg_civil_affairs__committee_members') }}
