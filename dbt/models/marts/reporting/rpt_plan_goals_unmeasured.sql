-- 规划中未监测的目标 · the goals and numbers of both plans that no indicator monitors, with the reason in
-- Chinese and English (seed plan_numbers_outside_catalogue, kind not_measured): whole 主要目标 goals (or a
-- sentence of one) and the numbers of 策略措施 for which no department sends data. The annual report's methods
-- section and docs/plan_coverage.md list them. Numbers that are no target at all (ages, years, the hotline)
-- and goals monitored under another clause stay in the seed only.
with listed as (
    select * from {{ ref('plan_numbers_outside_catalogue') }}
    where kind = 'not_measured'
),

-- domains in the order the catalogue (and the plan text) has them
domain_order as (
    select plan, domain_zh, min(catalogue_order) as first_indicator
    from {{ ref('dim_indicator') }}
    group by plan, domain_zh
),

parsed as (
    select
        l.*,
        split_part(l.plan_clause, '·', 1) as clause_domain_zh,
        regexp_extract(l.plan_clause, '·(主要目标|策略措施)', 1) as clause_section_zh,
        cast(regexp_extract(l.plan_clause, '(\d+)$', 1) as integer) as clause_no
    from listed as l
)

select
    cast(p.plan as varchar) as plan,
    cast(pl.title_zh as varchar) as plan_zh,
    cast(p.plan_clause as varchar) as plan_clause,
    cast(p.clause_domain_zh as varchar) as domain_zh,
    cast(p.clause_section_zh as varchar) as section_zh,
    cast(p.clause_no as integer) as clause_number,
    -- a goal row names no number: the goal (or one of its sentences) is what is not measured
    cast(case when coalesce(p.number_text, '') = '' then 'goal' else 'number' end as varchar) as item_kind,
    cast(p.words_zh as varchar) as words_zh,
    cast(nullif(p.number_text, '') as varchar) as number_text,
    cast(p.reason_zh as varchar) as reason_zh,
    cast(p.reason_en as varchar) as reason_en,
    -- plan, then domain as in the catalogue, 主要目标 before 策略措施, then the clause's number
    cast(row_number() over (
        order by pl.sort_order, coalesce(d.first_indicator, 100000), p.clause_domain_zh,
                 p.clause_section_zh = '策略措施', p.clause_no, p.number_text
    ) as integer) as display_order
from parsed as p
inner join {{ ref('plan_labels') }} as pl on pl.plan = p.plan
left join domain_order as d on d.plan = p.plan and d.domain_zh = p.clause_domain_zh
