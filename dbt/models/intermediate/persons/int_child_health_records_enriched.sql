-- 儿童保健登记（补充属性）· children in the child health register with age at the end of the
-- statistical year (30 Sep) and the flags of the child health indicators.
-- Grain: one row per child record per statistical year.
with records as (
    select
        r.*,
        {{ age_in_years('r.birth_date', period_end_date('r.period_year', 'mch_year')) }} as age_years,
        {{ age_in_months('r.birth_date', period_end_date('r.period_year', 'mch_year')) }} as age_months
    from {{ ref('stg_health__child_health_records') }} as r
)
select
    child_record_id,
    period_year,
    person_pid,
    sex,
    birth_date,
    township_code,
    residence,
    age_years,
    age_months,
    age_years < 3 as is_under3,
    age_years < 5 as is_under5,
    age_years < 7 as is_under7,
    age_months between 6 and 59 as is_aged_6_59_months,
    health_checks,
    coalesce(health_checks >= 1, false) as had_health_check,
    is_systematically_managed,
    is_vision_checked,
    hemoglobin_g_l,
    hemoglobin_g_l < 110 as is_anaemic,
    height_for_age_z,
    height_for_age_z < -2 as is_stunted,
    is_fully_immunized,
    _invalid_fields
from records
