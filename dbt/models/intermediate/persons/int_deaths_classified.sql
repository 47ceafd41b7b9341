-- 死亡（分类）· deaths with age at death and the flags the mortality indicators count.
-- Grain: one row per death counted in the statistics. Ages are completed days / months / years at the
-- date of death (not at the period's end), so a late-reported death of a child keeps its age whichever
-- file it came in. period_year is the statistical year of the death; as in int_births_enriched, only
-- years with a deaths file of their own are counted (late reports of other years: fct_late_reported_events).
with deaths as (
    select
        d.*,
        date_diff('day', d.birth_date, d.death_date) as age_at_death_days,
        {{ age_in_years('d.birth_date', 'd.death_date') }} as age_at_death_years
    from {{ ref('stg_health__deaths') }} as d
    where d.period_year in (select file_period_year from {{ ref('stg_health__deaths') }})
)
select
    death_id,
    period_year,
    person_pid,
    sex,
    birth_date,
    death_date,
    township_code,
    residence,
    cause_icd10,
    age_at_death_days,
    age_at_death_years,
    age_at_death_days < 28 as is_neonatal_death,
    age_at_death_years < 1 as is_infant_death,
    age_at_death_years < 5 as is_under5_death,
    age_at_death_years < 18 as is_child_death,
    coalesce(is_injury_death, false) as is_injury_death,
    -- accidental drowning and submersion, ICD-10 W65-W74
    coalesce(regexp_matches(cause_icd10, '^W(6[5-9]|7[0-4])'), false) as is_drowning_death,
    -- falls W00-W19, exposure to smoke, fire, heat and hot substances X00-X19, accidental poisoning X40-X49
    coalesce(regexp_matches(cause_icd10, '^(W0[0-9]|W1[0-9]|X0[0-9]|X1[0-9]|X4[0-9])'), false) as is_fall_burn_poisoning_death,
    -- 孕产妇死亡: reported as maternal (pregnancy or 42 days after, not accidental)
    coalesce(is_maternal_death, false) as is_maternal_death,
    _invalid_fields
from deaths
