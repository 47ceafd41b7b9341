{{ config(materialized='view') }}
-- SDMX 观测值 · every indicator value as an SDMX observation of the submission's dataflow: its key in the SDMX
-- code lists (rpt_sdmx_codes), the TIME_PERIOD of its period basis (a calendar year '2024', a health statistical
-- or school year as its first day and one year, macro sdmx_time_period), unit, period basis and the
-- observation status of the value itself (seed sdmx_status_codes). Confidentiality is the submission's to add:
-- which cells are suppressed is decided by its small-cell protection (exports/suppression.py). A view: it only
-- relabels fct_indicator_values.
with relabelled as (
    select
        v.period_year, v.indicator_code, v.area_code, v.sex, v.age_group_code, v.residence, v.period_basis,
        upper(v.indicator_code) as sdmx_indicator,
        v.area_code as sdmx_ref_area,
        s.sdmx_code as sdmx_sex,
        a.sdmx_code as sdmx_age,
        r.sdmx_code as sdmx_urbanisation,
        {{ sdmx_time_period('v.period_year', 'p') }} as time_period,
        p.sdmx_code as sdmx_period_basis,
        i.unit_sdmx as sdmx_unit_measure,
        v.value,
        case
            when v.value is null and v.zero_denominator_flag then 'zero_denominator'
            when v.value is null then 'missing'
            when v.small_numbers_flag then 'small_numbers'
            else 'value'
        end as value_state,
        a.kind as age_kind
    from {{ ref('fct_indicator_values') }} as v
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = v.indicator_code
    inner join {{ ref('dim_period_basis') }} as p on p.period_basis = v.period_basis
    inner join {{ ref('dim_sex') }} as s on s.sex_code = v.sex
    inner join {{ ref('dim_age_group') }} as a on a.age_group_code = v.age_group_code
    inner join {{ ref('dim_residence') }} as r on r.residence_code = v.residence
    -- a five-year group with a life-course group's ages (Y0T4_5Y ~ Y0T4) is the same observation: keep one
    qualify row_number() over (
        partition by v.period_year, v.indicator_code, v.area_code, v.sex, a.sdmx_code, v.residence
        order by a.kind = 'five_year', v.age_group_code) = 1
)
select
    cast(o.period_year as integer) as period_year,
    cast(o.indicator_code as varchar) as indicator_code,
    cast(o.area_code as varchar) as area_code,
    cast(o.sex as varchar) as sex,
    cast(o.age_group_code as varchar) as age_group_code,
    cast(o.residence as varchar) as residence,
    cast(o.period_basis as varchar) as period_basis,
    cast(o.sdmx_ref_area as varchar) as ref_area,
    cast(o.sdmx_indicator as varchar) as indicator,
    cast(o.sdmx_sex as varchar) as sdmx_sex,
    cast(o.sdmx_age as varchar) as age,
    cast(o.sdmx_urbanisation as varchar) as urbanisation,
    cast(o.time_period as varchar) as time_period,
    cast(o.value as double) as obs_value,
    cast(o.sdmx_unit_measure as varchar) as unit_measure,
    cast(o.sdmx_period_basis as varchar) as sdmx_period_basis,
    cast(st.code_id as varchar) as obs_status
from relabelled as o
left join {{ ref('sdmx_status_codes') }} as st
    on st.codelist_id = 'CL_OBS_STATUS' and st.applies_when = o.value_state
