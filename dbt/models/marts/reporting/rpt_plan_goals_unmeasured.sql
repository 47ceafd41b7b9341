-- 规划中未监测的目标 · the goals and numbers of both plans that no indicator monitors, with the reason in
-- Chinese and English (seed plan_numbers_outside_catalogue, kind not_measured): whole 主要目标 goals (or a
-- sentence of one) and the numbers of 策略措施 for which no department sends data. The annual report's methods
-- section and docs/plan_coverage.md list them. Numbers that are no target at all (ages, years, the hotline)
-- and goals monitored under another clause stay in the seed only.
with listed as (
    select * from {{ ref('plan_numbers_outside_catalogue') }}
    where kind = 'not_measured'
)
select
    cast(plan as varchar) as plan,
    cast(case plan when 'women' then '双清区妇女发展规划（2021-2025年）' else '双清区儿童发展规划（2021-2025年）' end as varchar) as plan_zh,
    cast(plan_clause as varchar) as plan_clause,
    cast(split_part(plan_clause, '·', 1) as varchar) as domain_zh,
    cast(regexp_extract(plan_clause, '·(主要目标|策略措施)', 1) as varchar) as section_zh,
    cast(regexp_extract(plan_clause, '(\d+)$', 1) as integer) as clause_number,
    -- a goal row names no number: the goal (or one of its sentences) is what is not measured
    cast(case when coalesce(number_text, '') = '' then 'goal' else 'number' end as varchar) as item_kind,
    cast(words_zh as varchar) as words_zh,
    cast(nullif(number_text, '') as varchar) as number_text,
    cast(reason_zh as varchar) as reason_zh,
    cast(reason_en as varchar) as reason_en
from listed
