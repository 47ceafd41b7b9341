-- 侵害妇女儿童案件受害人 · one row per victim in a case. Rename and cast only.
select
    cast(case_id as varchar) as case_id,
    cast(victim_pid as varchar) as victim_pid,
    cast(victim_sex as varchar) as sex,
    cast(victim_birth_date as date) as birth_date,
    cast(township_code as varchar) as township_code,
    cast(case_type as varchar) as case_type,
    cast(report_date as date) as report_date,
    cast(warning_letter as boolean) as has_warning_letter,
    cast(protection_order as boolean) as has_protection_order,
    {{ audit_columns() }}
from {{ gated_source('justice', 'cases') }}
