-- SDMX 代码表 · every code of every code list of the submission's SDMX structure, with what it means, taken from
-- the dims and seeds that define it: indicators (dim_indicator), areas with their parent (dim_area), sex, age,
-- urban/rural, units, period bases, and the observation and confidentiality statuses (seed sdmx_status_codes).
with indicators as (
    select 'CL_INDICATOR' as codelist_id, upper(indicator_code) as code_id, name_zh, name_en,
           plan_label_zh || '·' || domain_zh || '；单位：' || coalesce(unit_label_zh, unit)
               || '；分子：' || coalesce(numerator_zh, '') || coalesce('；分母：' || denominator_zh, '') as description_zh,
           coalesce(plan_label_en, plan) || ' · ' || domain_en || '; unit: ' || coalesce(unit_label_en, unit) as description_en,
           cast(null as varchar) as parent_code_id, catalogue_order as sort_order
    from {{ ref('dim_indicator') }}
),
areas as (
    select 'CL_AREA', area_code, name_zh, name_en, coalesce(level_zh, level), level, parent_code,
           row_number() over (order by level_order, area_code)
    from {{ ref('dim_area') }}
),
sexes as (
    select 'CL_SEX', sdmx_code, name_zh, name_en, null, null, null, sort_order from {{ ref('dim_sex') }}
),
ages as (
    -- one code per SDMX age code; a five-year group sharing a life-course group's code gives way to it
    select 'CL_AGE', sdmx_code, name_zh, name_en,
           case when age_to >= 150 then age_from || '岁及以上' else age_from || '–' || age_to || '岁' end,
           case when age_to >= 150 then age_from || ' years and over' else age_from || '-' || age_to || ' years' end,
           null,
           row_number() over (order by kind <> 'total', kind = 'five_year', age_from, age_to)
    from {{ ref('dim_age_group') }}
    qualify row_number() over (partition by sdmx_code order by kind = 'five_year', age_group_code) = 1
),
residences as (
    select 'CL_URBANISATION', sdmx_code, name_zh, name_en, null, null, null, sort_order from {{ ref('dim_residence') }}
),
units as (
    select 'CL_UNIT_MEASURE', sdmx_unit_measure, label_zh, label_en, null, null, null,
           row_number() over (order by unit)
    from {{ ref('unit_labels') }}
),
period_bases as (
    select 'CL_PERIOD_BASIS', sdmx_code, name_zh, name_en, description_zh, description_en, null, sort_order
    from {{ ref('dim_period_basis') }}
),
statuses as (
    select codelist_id, code_id, name_zh, name_en, description_zh, description_en, null, sort_order
    from {{ ref('sdmx_status_codes') }}
),
codes as (
    select * from indicators
    union all select * from areas
    union all select * from sexes
    union all select * from ages
    union all select * from residences
    union all select * from units
    union all select * from period_bases
    union all select * from statuses
)
select
    cast(codelist_id as varchar) as codelist_id,
    cast(code_id as varchar) as code_id,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(description_zh as varchar) as description_zh,
    cast(description_en as varchar) as description_en,
    cast(parent_code_id as varchar) as parent_code_id,
    cast(sort_order as integer) as sort_order
from codes
