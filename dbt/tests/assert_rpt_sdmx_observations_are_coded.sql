-- Every SDMX observation's key and coded attributes are codes of the code lists the structure ships, its key is
-- unique, and every indicator value is an observation (none lost to a join): a reader checking the data against
-- the structure finds nothing undefined, duplicated or missing.
with codes as (select codelist_id, code_id from {{ ref('rpt_sdmx_codes') }}),
observations as (select * from {{ ref('rpt_sdmx_observations') }}),
checked as (
    select 'CL_AREA' as codelist_id, ref_area as code_id from observations
    union all select 'CL_INDICATOR', indicator from observations
    union all select 'CL_SEX', sdmx_sex from observations
    union all select 'CL_AGE', age from observations
    union all select 'CL_URBANISATION', urbanisation from observations
    union all select 'CL_UNIT_MEASURE', unit_measure from observations
    union all select 'CL_PERIOD_BASIS', sdmx_period_basis from observations
    union all select 'CL_OBS_STATUS', obs_status from observations
),
undefined as (
    select distinct c.codelist_id, c.code_id, 'not in the code list' as problem
    from checked as c
    left join codes using (codelist_id, code_id)
    where codes.code_id is null
),
duplicated as (
    select 'key', ref_area || '.' || indicator || '.' || sdmx_sex || '.' || age || '.' || urbanisation || '.' || time_period,
           'duplicate key'
    from observations
    group by ref_area, indicator, sdmx_sex, age, urbanisation, time_period
    having count(*) > 1
),
lost as (
    select 'value', v.indicator_code || '.' || v.period_year || '.' || v.area_code || '.' || v.sex || '.'
                    || v.age_group_code || '.' || v.residence, 'no SDMX observation'
    from {{ ref('fct_indicator_values') }} as v
    left join {{ ref('dim_age_group') }} as a on a.age_group_code = v.age_group_code
    left join observations as o
        on o.period_year = v.period_year and o.indicator_code = v.indicator_code and o.area_code = v.area_code
       and o.sex = v.sex and o.age = a.sdmx_code and o.residence = v.residence
    where o.indicator is null
)
select * from undefined
union all
select * from duplicated
union all
select * from lost
