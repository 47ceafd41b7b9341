-- 核查：每条规则 × 左式数值 × 年份 × 区域只计算一次；核查数值每个格子只有一个值。
-- One evaluation per rule × left figure × year × area, and one value per figure cell.
select 'int_validation_rules_evaluated' as model, rule_code || '|' || left_figure_code as item, period_year, area_level, area_code, count(*) as n
from {{ ref('int_validation_rules_evaluated') }}
group by all
having count(*) > 1
union all
select 'int_validation_figures_completed', figure_code, period_year, area_level, area_code, count(*)
from {{ ref('int_validation_figures_completed') }}
group by all
having count(*) > 1
union all
select 'fct_validation_findings', finding_id, period_year, area_level, area_code, count(*)
from {{ ref('fct_validation_findings') }}
group by all
having count(*) > 1
