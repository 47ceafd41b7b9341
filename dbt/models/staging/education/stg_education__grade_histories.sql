-- 历年分年级在校生数 · enrolment by school year, sex and grade (district), for the consolidation rate.
-- Rename and cast only.
select
    cast(year as integer) as school_year,
    cast(sex as varchar) as sex,
    cast(grade as integer) as grade,
    cast(enrolled as bigint) as enrolled,
    {{ audit_columns() }}
from {{ gated_source('education', 'grade_history') }}
