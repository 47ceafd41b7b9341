-- 统计资料表目录 · every table of the statistical compendium of the latest year with data, numbered as printed:
-- chapter 1 is the resident population (by sex over the years, by sex and five-year age group, by township),
-- then one chapter per domain of the women's and then the children's plan (catalogue order). Each indicator
-- has a table by sex for every year from the baseline (var default_baseline_year) to the latest, and - where
-- the latest year has such values - a table by township (the reported areas under the district) and one by
-- urban/rural. Numbers run 表<chapter>-<n> within a chapter. What a table shows is decided here: which sex
-- columns (by sex scope), the sex comparison (female share of a count, female/male ratio of a rate), its unit.
{% set district = var('district_code') %}
with years as (
    select
        {{ var('default_baseline_year') }} as first_year,
        (select max(period_year) from {{ ref('fct_indicator_values') }}) as compendium_year
),

labels as (
    select label_key, label_zh, label_en from {{ ref('compendium_labels') }}
),

units as (
    select unit, label_zh, decimals from {{ ref('unit_labels') }}
),

child_level as (
    -- the level of the areas a township table lists (townships under a district)
    select min(level_zh) as level_zh, min(level) as level
    from {{ ref('dim_area') }}
    where parent_code = '{{ district }}' and is_reported
),

domains as (
    select plan, domain_zh, min(catalogue_order) as domain_order
    from {{ ref('dim_indicator') }}
    group by plan, domain_zh
),

indicators as (
    select
        i.*,
        dense_rank() over (order by i.plan_order, d.domain_order) + 1 as chapter_no
    from {{ ref('dim_indicator') }} as i
    inner join domains as d on d.plan = i.plan and d.domain_zh = i.domain_zh
),

latest_breakdowns as (
    -- which breakdowns the latest year has values for (a table without any is not printed)
    select
        v.indicator_code,
        bool_or(a.parent_code = '{{ district }}' and v.residence = '_T') as has_townships,
        bool_or(v.area_code = '{{ district }}' and v.residence in ('urban', 'rural')) as has_residence
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i on i.indicator_code = v.indicator_code and i.age_group_code = v.age_group_code
    inner join {{ ref('dim_area') }} as a on a.area_code = v.area_code
    where v.period_year = (select compendium_year from years) and v.value is not null
    group by v.indicator_code
),

indicator_tables as (
    select i.*, k.table_kind, k.kind_order
    from indicators as i
    left join latest_breakdowns as b on b.indicator_code = i.indicator_code
    inner join (values ('by_sex_years', 1), ('by_township', 2), ('by_residence', 3)) as k (table_kind, kind_order)
        on k.table_kind = 'by_sex_years'
        or (k.table_kind = 'by_township' and coalesce(b.has_townships, false))
        or (k.table_kind = 'by_residence' and coalesce(b.has_residence, false))
),

population_tables as (
    select k.table_kind, k.kind_order
    from (values ('population_by_sex_years', 1), ('population_by_age', 2), ('population_by_township', 3))
        as k (table_kind, kind_order)
    where exists (select 1 from {{ ref('int_population_by_age_group') }})
),

assembled as (
    select
        1 as chapter_no, p.kind_order as table_seq, cast(null as varchar) as plan,
        cast(null as varchar) as plan_label_zh, 0 as plan_order,
        (select label_zh from labels where label_key = 'population') as chapter_zh,
        (select label_en from labels where label_key = 'population') as chapter_en,
        cast(null as varchar) as indicator_code, cast(null as varchar) as indicator_name_zh,
        cast(null as varchar) as indicator_name_en, 0 as catalogue_order,
        p.table_kind,
        (select label_zh from labels where label_key = 'population_unit') as unit_label_zh,
        0 as unit_decimals,
        true as shows_female, true as shows_male, true as shows_total,
        'female_share' as comparison,
        'calendar' as period_basis
    from population_tables as p
    union all
    select
        i.chapter_no,
        row_number() over (partition by i.chapter_no order by i.catalogue_order, i.kind_order),
        i.plan, i.plan_label_zh, i.plan_order, i.domain_zh, i.domain_en,
        i.indicator_code, i.name_zh, i.name_en, i.catalogue_order,
        i.table_kind, i.unit_label_zh, i.unit_decimals,
        i.sex_scope in ('by_sex', 'female_only'), i.sex_scope = 'by_sex', i.sex_scope in ('by_sex', 'total_only'),
        -- a count by sex compares as the female share; a rate, percentage or age as female / male
        case when i.sex_scope <> 'by_sex' then null
             when i.unit = 'count' then 'female_share'
             else 'female_to_male_ratio' end,
        i.period_basis
    from indicator_tables as i
),

titled as (
    select
        a.*,
        y.first_year, y.compendium_year,
        case when a.table_kind in ('by_sex_years', 'population_by_sex_years') then y.first_year else y.compendium_year end
            as table_first_year,
        k.label_zh as kind_zh, k.label_en as kind_en,
        case when a.table_kind in ('by_township', 'population_by_township') then 'area'
             when a.table_kind = 'by_residence' then 'residence'
             when a.table_kind = 'population_by_age' then 'age_group'
             else 'year' end as row_dimension
    from assembled as a
    cross join years as y
    inner join labels as k
        on k.label_key = case when a.table_kind = 'by_sex_years' and not (a.shows_female and a.shows_male)
                              then 'by_years' else a.table_kind end
)

select
    cast(t.compendium_year as integer) as compendium_year,
    cast('表' || t.chapter_no || '-' || t.table_seq as varchar) as table_no,
    cast(t.chapter_no as integer) as chapter_no,
    cast(t.table_seq as integer) as table_seq,
    cast(row_number() over (order by t.chapter_no, t.table_seq) as integer) as table_order,
    cast(t.chapter_zh as varchar) as chapter_zh,
    cast(t.chapter_en as varchar) as chapter_en,
    -- one worksheet per chapter (a domain, or the population); at most 31 characters
    cast(left(t.chapter_zh, 31) as varchar) as sheet_name,
    cast(t.plan as varchar) as plan,
    cast(t.plan_label_zh as varchar) as plan_label_zh,
    cast(t.indicator_code as varchar) as indicator_code,
    cast(t.table_kind as varchar) as table_kind,
    cast(coalesce(t.indicator_name_zh, t.kind_zh) || '（'
         || case when t.indicator_code is not null then t.kind_zh || '，' else '' end
         || case when t.table_first_year < t.compendium_year
                 then t.table_first_year || '—' || t.compendium_year || '年' else t.compendium_year || '年' end
         || '）' as varchar) as title_zh,
    cast(coalesce(t.indicator_name_en || ', ' || t.kind_en, t.kind_en) || ', '
         || case when t.table_first_year < t.compendium_year
                 then t.table_first_year || '–' || t.compendium_year else cast(t.compendium_year as varchar) end
         as varchar) as title_en,
    cast(t.unit_label_zh as varchar) as unit_label_zh,
    cast(t.unit_decimals as integer) as unit_decimals,
    cast(t.row_dimension as varchar) as row_dimension,
    cast(case when t.row_dimension = 'area' then coalesce((select level_zh from child_level), rh.label_zh)
              else rh.label_zh end as varchar) as row_header_zh,
    cast(rh.label_en as varchar) as row_header_en,
    cast(t.shows_female as boolean) as shows_female,
    cast(t.shows_male as boolean) as shows_male,
    cast(t.shows_total as boolean) as shows_total,
    cast(t.comparison as varchar) as comparison,
    cast(c.label_zh as varchar) as comparison_zh,
    cast(cu.label_zh as varchar) as comparison_unit_zh,
    cast(case t.comparison when 'female_share' then (select decimals from units where unit = 'percent')
                           when 'female_to_male_ratio' then (select decimals from units where unit = 'ratio') end
         as integer) as comparison_decimals,
    cast(t.table_first_year as integer) as first_year,
    cast(t.period_basis as varchar) as period_basis
from titled as t
left join labels as rh on rh.label_key = t.row_dimension
left join labels as c on c.label_key = t.comparison
left join labels as cu on cu.label_key = t.comparison || '_unit'
