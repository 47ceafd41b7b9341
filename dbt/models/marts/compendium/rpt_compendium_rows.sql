-- 统计资料表行 · the rows of every table of rpt_compendium_tables, internal (unprotected) values: female, male,
-- total and the sex comparison, with the counts behind them (numerators, denominators) that small-cell
-- protection needs, and the row's marks. Indicator tables read fct_indicator_values at the residence total
-- and the indicator's own age group (the cells of the provincial submission) - the district for every year,
-- the district and its townships, or the district's urban and rural values for the latest year; population
-- tables read the resident population (int_population_by_age_group). A year whose value is withheld
-- (fct_indicator_publication) keeps its row, empty and marked 扣发 with the reason in the footnotes.
{% set district = var('district_code') %}
with tables as (
    select * from {{ ref('rpt_compendium_tables') }}
),

indicators as (
    select indicator_code, age_group_code, unit from {{ ref('dim_indicator') }}
),

areas as (
    select area_code, name_zh, parent_code from {{ ref('dim_area') }}
    where is_reported and (area_code = '{{ district }}' or parent_code = '{{ district }}')
),

residences as (
    select residence_code, name_zh, sort_order from {{ ref('dim_residence') }}
),

year_span as (
    -- every year a table over the years shows, from its first year to the compendium's
    select table_no, unnest(range(first_year, compendium_year + 1)) as period_year
    from tables
    where table_kind in ('by_sex_years', 'population_by_sex_years')
),

values_by_sex as (
    -- one row per indicator × year × area × residence with the three sexes side by side
    select
        v.indicator_code, v.period_year, v.area_code, v.residence,
        max(v.value) filter (where v.sex = '2') as female,
        max(v.value) filter (where v.sex = '1') as male,
        max(v.value) filter (where v.sex = '_T') as total,
        max(v.numerator) filter (where v.sex = '2') as female_numerator,
        max(v.numerator) filter (where v.sex = '1') as male_numerator,
        max(v.numerator) filter (where v.sex = '_T') as total_numerator,
        max(v.denominator) filter (where v.sex = '2') as female_denominator,
        max(v.denominator) filter (where v.sex = '1') as male_denominator,
        max(v.denominator) filter (where v.sex = '_T') as total_denominator,
        bool_or(v.small_numbers_flag and v.value is not null) as small_numbers_flag,
        bool_or(v.incomplete_data_flag) as incomplete_data_flag,
        max(v.coverage_zh) as coverage_zh
    from {{ ref('fct_indicator_values') }} as v
    inner join indicators as i on i.indicator_code = v.indicator_code and i.age_group_code = v.age_group_code
    inner join areas as a on a.area_code = v.area_code
    group by all
),

publication as (
    select indicator_code, period_year, publication_status, reason_zh
    from {{ ref('fct_indicator_publication') }}
    where area_code = '{{ district }}'
),

indicator_rows as (
    -- by sex, every year (district)
    select
        t.table_no, y.period_year as row_order, 'year' as row_kind, y.period_year || '年' as row_label_zh,
        cast(y.period_year as varchar) as row_label_en, y.period_year, '{{ district }}' as area_code, '_T' as residence,
        '_T' as age_group_code, t.indicator_code
    from tables as t
    inner join year_span as y on y.table_no = t.table_no
    where t.table_kind = 'by_sex_years'
    union all
    -- by township, latest year: the district first
    select
        t.table_no, cast(row_number() over (partition by t.table_no order by a.area_code <> '{{ district }}', a.area_code) - 1 as integer),
        'area', a.name_zh, a.area_code as row_label_en, t.compendium_year, a.area_code, '_T', '_T',
        t.indicator_code
    from tables as t
    cross join areas as a
    where t.table_kind = 'by_township'
    union all
    -- by urban / rural, latest year: the total first
    select
        t.table_no, r.sort_order, 'residence', r.name_zh, r.residence_code as row_label_en, t.compendium_year,
        '{{ district }}', r.residence_code as residence, '_T', t.indicator_code
    from tables as t
    cross join residences as r
    where t.table_kind = 'by_residence'
),

indicator_values as (
    select
        r.*,
        v.female, v.male, v.total,
        v.female_numerator, v.male_numerator, v.total_numerator,
        v.female_denominator, v.male_denominator, v.total_denominator,
        coalesce(v.small_numbers_flag, false) as small_numbers_flag,
        coalesce(v.incomplete_data_flag, false) as incomplete_data_flag,
        v.coverage_zh,
        coalesce(p.publication_status = 'withheld', false) as withheld_flag
    from indicator_rows as r
    left join values_by_sex as v
        on v.indicator_code = r.indicator_code and v.period_year = r.period_year
       and v.area_code = r.area_code and v.residence = r.residence
    left join publication as p on p.indicator_code = r.indicator_code and p.period_year = r.period_year
),

population as (
    select
        p.period_year, p.township_code, p.residence, p.sex, p.age_group_code, g.kind as age_kind,
        g.name_zh as age_name_zh, g.name_en as age_name_en, g.age_from, cast(p.population as double) as population
    from {{ ref('int_population_by_age_group') }} as p
    inner join {{ ref('dim_age_group') }} as g on g.age_group_code = p.age_group_code
    where g.kind in ('total', 'five_year')
),

population_cells as (
    -- district totals by year × age group, and township totals of the latest year (all ages)
    select period_year, '{{ district }}' as area_code, age_group_code, age_kind, age_name_zh, age_name_en, age_from,
           sum(population) filter (where sex = '2') as female, sum(population) filter (where sex = '1') as male,
           sum(population) as total
    from population group by all
    union all
    select period_year, township_code, age_group_code, age_kind, age_name_zh, age_name_en, age_from,
           sum(population) filter (where sex = '2'), sum(population) filter (where sex = '1'), sum(population)
    from population where age_kind = 'total' group by all
),

population_rows as (
    select t.table_no, y.period_year as row_order, 'year' as row_kind, y.period_year || '年' as row_label_zh,
           cast(y.period_year as varchar) as row_label_en, y.period_year, '{{ district }}' as area_code,
           '_T' as age_group_code
    from tables as t
    inner join year_span as y on y.table_no = t.table_no
    where t.table_kind = 'population_by_sex_years'
    union all
    select t.table_no, case when c.age_kind = 'total' then -1 else c.age_from end, 'age_group', c.age_name_zh,
           c.age_name_en, t.compendium_year, '{{ district }}', c.age_group_code
    from tables as t
    inner join population_cells as c on c.period_year = t.compendium_year and c.area_code = '{{ district }}'
    where t.table_kind = 'population_by_age'
    union all
    select t.table_no, cast(row_number() over (partition by t.table_no order by a.area_code <> '{{ district }}', a.area_code) - 1 as integer),
           'area', a.name_zh, a.area_code as row_label_en, t.compendium_year, a.area_code, '_T'
    from tables as t
    cross join areas as a
    where t.table_kind = 'population_by_township'
),

population_values as (
    select
        r.table_no, r.row_order, r.row_kind, r.row_label_zh, r.row_label_en, r.period_year, r.area_code,
        '_T' as residence, r.age_group_code, cast(null as varchar) as indicator_code,
        c.female, c.male, c.total,
        -- a population table's cells are counts: they are their own numerators
        c.female as female_numerator, c.male as male_numerator, c.total as total_numerator,
        cast(null as double) as female_denominator, cast(null as double) as male_denominator,
        cast(null as double) as total_denominator,
        false as small_numbers_flag, false as incomplete_data_flag, cast(null as varchar) as coverage_zh,
        false as withheld_flag
    from population_rows as r
    left join population_cells as c
        on c.period_year = r.period_year and c.area_code = r.area_code and c.age_group_code = r.age_group_code
),

unioned as (
    select * from indicator_values
    union all by name
    select * from population_values
),

marked as (
    select
        u.*,
        t.comparison,
        case t.comparison
            when 'female_share' then case when u.total > 0 then u.female / u.total * 100 end
            when 'female_to_male_ratio' then case when u.male > 0 then u.female / u.male end
        end as comparison_value,
        case when u.withheld_flag then 'withheld' else 'no_value' end as empty_mark
    from unioned as u
    inner join tables as t on t.table_no = u.table_no
),

symbols as (
    select mark, symbol, sort_order from {{ ref('rpt_compendium_marks') }}
)

select
    cast(m.table_no as varchar) as table_no,
    cast(m.row_order as integer) as row_order,
    cast(m.row_kind as varchar) as row_kind,
    cast(m.row_label_zh as varchar) as row_label_zh,
    cast(m.row_label_en as varchar) as row_label_en,
    cast(m.indicator_code as varchar) as indicator_code,
    cast(m.period_year as integer) as period_year,
    cast(m.area_code as varchar) as area_code,
    cast(m.residence as varchar) as residence,
    cast(m.age_group_code as varchar) as age_group_code,
    cast(m.female as double) as female,
    cast(m.male as double) as male,
    cast(m.total as double) as total,
    cast(m.comparison_value as double) as comparison_value,
    cast(m.female_numerator as double) as female_numerator,
    cast(m.male_numerator as double) as male_numerator,
    cast(m.total_numerator as double) as total_numerator,
    cast(m.female_denominator as double) as female_denominator,
    cast(m.male_denominator as double) as male_denominator,
    cast(m.total_denominator as double) as total_denominator,
    cast(m.small_numbers_flag as boolean) as small_numbers_flag,
    cast(m.incomplete_data_flag as boolean) as incomplete_data_flag,
    cast(m.withheld_flag as boolean) as withheld_flag,
    cast(m.coverage_zh as varchar) as coverage_zh,
    cast(m.empty_mark as varchar) as empty_mark,
    cast(coalesce(
        (select string_agg(s.symbol, ' ' order by s.sort_order) from symbols as s
         where (s.mark = 'small_numbers' and m.small_numbers_flag)
            or (s.mark = 'incomplete_coverage' and m.incomplete_data_flag)), '') as varchar) as row_symbols
from marked as m
