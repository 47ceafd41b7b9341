{{ config(materialized='table') }}
-- 两癌筛查（三年合并）· for each statistical year Y and screening type, each woman screened in the
-- statistical years Y-2..Y, once (distinct by pseudonym; a record without pseudonym counts alone, one whose
-- ID number was invalid not at all),
-- with her age at the end of year Y and the township/residence of her latest screening.
-- is_incomplete: fewer than three statistical years of screening data exist for the pool.
-- A screening's statistical year is that of its date (a late report counts in its own year); only years
-- with a screening file of their own are counted (as in int_births_enriched), so a pool never counts a
-- year known only from a few late reports as if it were complete.
with screenings as (
    select
        s.*,
        coalesce(s.person_pid, 'screening:' || s.screening_id) as person_key
    from {{ ref('stg_health__cancer_screenings') }} as s
    -- a screening whose ID number was invalid (blanked at ingestion) cannot be deduplicated by person, one whose
    -- type was invalid belongs to no pool (fct_indicator_exclusions lists both)
    where s.period_year in (select file_period_year from {{ ref('stg_health__cancer_screenings') }})
      and {{ needs_met(['id_number']) }} and s.screening_type is not null
),
years as (
    select distinct period_year from screenings
),
pooled as (
    select
        y.period_year,
        s.screening_type,
        s.person_key,
        s.birth_date,
        s.township_code,
        s.residence,
        s.screening_date,
        s.period_year as screening_period_year,
        row_number() over (
            partition by y.period_year, s.screening_type, s.person_key
            order by s.screening_date desc, s.screening_id desc
        ) as recency
    from years as y
    inner join screenings as s
        on s.period_year between y.period_year - 2 and y.period_year
),
coverage as (
    select y.period_year, count(distinct s.period_year) < 3 as is_incomplete
    from years as y
    inner join years as s on s.period_year between y.period_year - 2 and y.period_year
    group by y.period_year
)
select
    p.period_year,
    p.screening_type,
    p.person_key,
    '2' as sex,
    p.township_code,
    p.residence,
    p.screening_date as latest_screening_date,
    p.screening_period_year as latest_screening_period_year,
    {{ age_in_years('p.birth_date', period_end_date('p.period_year', 'mch_year')) }} as age_years,
    c.is_incomplete
from pooled as p
inner join coverage as c on c.period_year = p.period_year
where p.recency = 1
