-- 活产（补充属性）· live births with the mother's age, low birth weight, preterm and
-- system-management flags. Grain: one row per live birth counted in the statistics.
-- period_year is the statistical year of the birth (a late report counts in, and revises, its year).
-- Only years with a births file of their own are counted: a year known only from late reports in the
-- next year's file (its own file never sent, rejected or withheld) would show a handful of births as if
-- they were the year's; such reports are listed in marts.fct_late_reported_events as not counted.
select
    b.birth_id,
    b.period_year,
    b.mother_pid,
    b.township_code,
    b.residence,
    b.child_sex as sex,
    b.birth_date,
    {{ age_in_years('b.mother_birth_date', 'b.birth_date') }} as mother_age_years,
    b.birth_weight_g,
    b.birth_weight_g < 2500 as is_low_birth_weight,
    b.gestation_weeks,
    b.gestation_weeks < 37 as is_preterm,
    b.is_hospital_delivery,
    b.registered_week,
    b.registered_week <= 13 as is_registered_early,
    b.antenatal_visits,
    b.had_postpartum_visit,
    -- 孕产妇系统管理: registered by week 13, >= 5 antenatal checks and a postpartum visit.
    coalesce(b.registered_week <= 13 and b.antenatal_visits >= 5 and b.had_postpartum_visit, false)
        as is_system_managed,
    b.is_hiv_tested,
    b.is_syphilis_tested,
    b.is_hbv_tested,
    b.is_hiv_positive,
    b.is_syphilis_positive,
    b.is_hbv_positive,
    coalesce(b.is_hiv_positive, false) or coalesce(b.is_syphilis_positive, false) as is_hiv_or_syphilis_positive,
    -- the children's plan counts the children of mothers infected with any of the three (hepatitis B included)
    coalesce(b.is_hiv_positive, false) or coalesce(b.is_syphilis_positive, false) or coalesce(b.is_hbv_positive, false)
        as is_hiv_syphilis_or_hbv_positive,
    b.is_mother_treated,
    b.is_infant_treated,
    b.is_hiv_infant_infected,
    b.has_congenital_syphilis,
    b.had_prepregnancy_check,
    b.is_prenatal_screened,
    b.is_newborn_screened,
    b.is_newborn_visited,
    b.is_exclusively_breastfed_6m,
    b._invalid_fields
from {{ ref('stg_health__births') }} as b
where b.period_year in (select file_period_year from {{ ref('stg_health__births') }})
