-- 指标未能使用的记录 · per indicator × year × area: the records an indicator could not use, and why.
--   field_invalid       a field the indicator needs was invalid and blanked at ingestion (field_name says which)
--   sex_unknown         counted in the total, not by sex; residence_unknown: in the total, not urban/rural
--   record_quarantined  the whole record was quarantined at ingestion (audit.quarantine): rows of the
--                       current files of every extract the catalogue's `source` names for the indicator,
--                       for the district (a quarantined row's township is not kept: it may be the defect)
-- Rolled up to every area of var('rollup_levels') like the indicator components, so district rows are totals.
with catalogue_sources as (
    -- 'health:deaths; health:births' -> deaths, births; 'population' -> population; 'forms:<item>' -> forms
    select
        c.indicator_code,
        c.period_basis,
        case
            when trim(part) like 'forms:%' then 'forms'
            when trim(part) like '%:%' then split_part(trim(part), ':', 2)
            else trim(part)
        end as extract
    from {{ ref('indicator_catalogue') }} as c,
         unnest(string_split(c.source, ';')) as parts (part)
),
quarantined as (
    select
        f.extract,
        f.period_year,
        count(distinct q.load_id || ':' || q.row_number) as records
    from {{ source('audit', 'quarantine') }} as q
    inner join {{ source('audit', 'file_loads') }} as f on f.load_id = q.load_id
    where f.is_current and f.period_year is not null
    group by all
),
exclusions as (
    select indicator_code, period_year, area_code, reason_code, field_name, records
    from {{ ref('int_indicator_exclusions_counted') }}
    union all
    select distinct
        s.indicator_code, q.period_year, '{{ var("district_code") }}' as area_code,
        'record_quarantined' as reason_code, s.extract as field_name, q.records
    from catalogue_sources as s
    inner join quarantined as q on q.extract = s.extract
),
ancestors as (
    select area_code, ancestor_code
    from {{ ref('int_area_ancestors_resolved') }}
    where ancestor_level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %})
),
rolled_up as (
    select e.indicator_code, e.period_year, anc.ancestor_code as area_code, e.reason_code, e.field_name,
           sum(e.records) as records
    from exclusions as e
    inner join ancestors as anc on anc.area_code = e.area_code
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = e.indicator_code
    group by all
)
select
    cast(indicator_code as varchar) as indicator_code,
    cast(period_year as integer) as period_year,
    cast(area_code as varchar) as area_code,
    cast(reason_code as varchar) as reason_code,
    cast(field_name as varchar) as field_name,
    cast(case reason_code
        when 'field_invalid' then '字段「' || field_name || '」无效，入库时已置空：不计入本指标'
        when 'sex_unknown' then '性别不详：计入合计，不计入分性别数'
        when 'residence_unknown' then '城乡不详：计入合计，不计入城镇、乡村'
        when 'record_quarantined' then '整条记录入库时被隔离（' || field_name || '，见隔离清单）：不计入任何指标'
    end as varchar) as reason_zh,
    cast(case reason_code
        when 'field_invalid' then 'Field ' || field_name || ' invalid, blanked at ingestion: not counted in this indicator'
        when 'sex_unknown' then 'Sex unknown: counted in the total, not by sex'
        when 'residence_unknown' then 'Residence unknown: counted in the total, not as urban or rural'
        when 'record_quarantined' then 'Whole record quarantined at ingestion (' || field_name || ', see the quarantine list): counted nowhere'
    end as varchar) as reason_en,
    cast(records as bigint) as records
from rolled_up
