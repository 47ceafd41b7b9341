-- 未监测目标表粒度唯一。rpt_plan_goals_unmeasured: one row per clause × the plan's words × number.
select plan_clause, words_zh, number_text, count(*) as n_rows
from {{ ref('rpt_plan_goals_unmeasured') }}
group by all
having count(*) > 1
