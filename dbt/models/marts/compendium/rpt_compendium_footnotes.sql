-- 统计资料表注 · the footnotes under each table: one per mark that occurs in the table (小数字, 覆盖不全 with the
-- coverage of each row, 扣发 with each year's reason, 无数据), worded from rpt_compendium_marks. The marks of
-- small-cell protection depend on the edition and are added where the public edition is written.
with rows_ as (
    select * from {{ ref('rpt_compendium_rows') }}
),

tables as (
    select table_no, shows_female, shows_male, shows_total, comparison from {{ ref('rpt_compendium_tables') }}
),

empty_cells as (
    -- rows with a shown cell left empty: withheld years, or no value
    select r.table_no, r.empty_mark as mark, r.row_order, r.row_label_zh, r.period_year, r.indicator_code
    from rows_ as r
    inner join tables as t on t.table_no = r.table_no
    where (t.shows_female and r.female is null) or (t.shows_male and r.male is null)
       or (t.shows_total and r.total is null)
       -- a comparison without its inputs (a male value of 0: no female/male ratio)
       or (t.comparison is not null and r.comparison_value is null)
),

withheld_reasons as (
    select e.table_no, e.row_order,
           e.row_label_zh || '：' || coalesce(p.reason_zh, '') as detail_zh
    from empty_cells as e
    left join {{ ref('fct_indicator_publication') }} as p
        on p.indicator_code = e.indicator_code and p.period_year = e.period_year
       and p.area_code = '{{ var("district_code") }}'
    where e.mark = 'withheld'
),

occurrences as (
    select table_no, 'small_numbers' as mark, cast(null as varchar) as details_zh
    from rows_ where small_numbers_flag group by table_no
    union all
    select table_no, 'incomplete_coverage',
           string_agg(row_label_zh || coalesce(' ' || coverage_zh, ''), '；' order by row_order)
    from rows_ where incomplete_data_flag group by table_no
    union all
    select table_no, 'withheld', string_agg(detail_zh, '；' order by row_order)
    from withheld_reasons group by table_no
    union all
    select table_no, 'no_value', null
    from empty_cells where mark = 'no_value' group by table_no
)

select
    cast(o.table_no as varchar) as table_no,
    cast(o.mark as varchar) as mark,
    cast(m.symbol as varchar) as symbol,
    cast(m.sort_order as integer) as sort_order,
    cast(m.symbol || ' ' || m.label_zh || '：' || m.description_zh
         || coalesce('（' || o.details_zh || '）', '') as varchar) as text_zh,
    cast(m.symbol || ' ' || m.label_en || ': ' || m.description_en as varchar) as text_en
from occurrences as o
inner join {{ ref('rpt_compendium_marks') }} as m on m.mark = o.mark
