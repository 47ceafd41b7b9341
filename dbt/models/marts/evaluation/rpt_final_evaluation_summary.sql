-- 终期评估汇总 · per plan and domain (and for each plan as a whole), how many indicators fall in each class of
-- the final evaluation (达标 / 基本达标 / 未达标 / 无法评估 / 无量化目标), as the summary table prints them.
with evaluated as (
    select * from {{ ref('rpt_final_evaluation') }}
),

by_domain as (
    select
        area_code, plan, plan_label_zh, plan_order, domain_zh, min(catalogue_order) as domain_order,
        count(*) as indicators,
        count(*) filter (where has_target) as with_target,
        count(*) filter (where evaluation_group = 'met') as met,
        count(*) filter (where evaluation_group = 'basically_met') as basically_met,
        count(*) filter (where evaluation_group = 'not_met') as not_met,
        count(*) filter (where evaluation_group = 'not_assessed') as not_assessed,
        max(latest_year) as latest_year
    from evaluated
    group by area_code, plan, plan_label_zh, plan_order, domain_zh
),

by_plan as (
    select
        area_code, plan, plan_label_zh, plan_order, '合计' as domain_zh, 1000000 as domain_order,
        sum(indicators), sum(with_target), sum(met), sum(basically_met), sum(not_met), sum(not_assessed),
        max(latest_year)
    from by_domain
    group by area_code, plan, plan_label_zh, plan_order
),

unioned as (
    select * from by_domain
    union all
    select * from by_plan
)

select
    cast(area_code as varchar) as area_code,
    cast(plan as varchar) as plan,
    cast(plan_label_zh as varchar) as plan_label_zh,
    cast(plan_order as integer) as plan_order,
    cast(domain_zh as varchar) as domain_zh,
    cast(domain_order as integer) as domain_order,
    cast(domain_zh = '合计' as boolean) as is_plan_total,
    cast(indicators as integer) as indicators,
    cast(with_target as integer) as with_target,
    cast(met as integer) as met,
    cast(basically_met as integer) as basically_met,
    cast(not_met as integer) as not_met,
    cast(not_assessed as integer) as not_assessed,
    cast(latest_year as integer) as latest_year
from unioned
