-- 年度报告·未完整发布的指标 · the indicators of a year and reporting area not published in full (withheld, or
-- published on incomplete coverage), with the reason, in the order the report lists them.
select
    cast(p.period_year as integer) as period_year,
    cast(p.area_code as varchar) as area_code,
    cast(p.indicator_code as varchar) as indicator_code,
    cast(d.name_zh as varchar) as name_zh,
    cast(d.plan as varchar) as plan,
    cast(p.publication_status as varchar) as publication_status,
    cast(p.publication_status_zh as varchar) as publication_status_zh,
    cast(p.reason_zh as varchar) as reason_zh,
    cast(row_number() over (
        partition by p.period_year, p.area_code order by p.publication_status desc, d.plan, p.indicator_code
    ) as integer) as display_order
from {{ ref('fct_indicator_publication') }} as p
inner join {{ ref('dim_indicator') }} as d on d.indicator_code = p.indicator_code
where p.publication_status <> 'published'
