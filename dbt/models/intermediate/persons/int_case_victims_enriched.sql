-- 案件受害人（补充属性）· victims with age at the report date; a victim listed twice in one case
-- counts once. Grain: one row per victim per case.
with victims as (
    select
        v.*,
        row_number() over (
            partition by v.case_id, coalesce(v.victim_pid, v.case_id || ':' || v.source_row_number)
            order by v.report_date
        ) as occurrence
    from {{ ref('stg_justice__case_victims') }} as v
)
select
    period_year,
    case_id,
    victim_pid,
    sex,
    birth_date,
    {{ age_in_years('birth_date', 'report_date') }} as age_years,
    {{ age_in_years('birth_date', 'report_date') }} < 18 as is_child,
    township_code,
    case_type,
    report_date,
    has_warning_letter,
    has_protection_order,
    _invalid_fields
from victims
where occurrence = 1
