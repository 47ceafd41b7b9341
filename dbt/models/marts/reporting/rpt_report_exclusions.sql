-- 年度报告·未能使用的记录 · per indicator, year and reporting area, the records an indicator could not use, by
-- reason (fct_indicator_exclusions): a blanked field it needs, a quarantined record, unknown sex or residence.
select
    cast(e.period_year as integer) as period_year,
    cast(e.area_code as varchar) as area_code,
    cast(e.indicator_code as varchar) as indicator_code,
    cast(any_value(i.name_zh) as varchar) as name_zh,
    cast(sum(e.records) filter (where e.reason_code = 'field_invalid') as bigint) as field_invalid,
    cast(sum(e.records) filter (where e.reason_code = 'record_quarantined') as bigint) as record_quarantined,
    cast(sum(e.records) filter (where e.reason_code = 'sex_unknown') as bigint) as sex_unknown,
    cast(sum(e.records) filter (where e.reason_code = 'residence_unknown') as bigint) as residence_unknown,
    cast(string_agg(distinct e.field_name, ', ' order by e.field_name) filter (where e.reason_code = 'field_invalid')
        as varchar) as fields
from {{ ref('fct_indicator_exclusions') }} as e
inner join {{ ref('dim_indicator') }} as i on i.indicator_code = e.indicator_code
group by e.period_year, e.area_code, e.indicator_code
