-- 指标目录一致性：借用计算的指标与基础指标口径相同（单位、分性别口径、年龄组、汇总方式），基础指标本身不再借用；
-- 性别均等指数的基础指标须分性别；有数值目标的运算符须有目标值（或参照指标）。
-- Catalogue consistency: aliases match their base; GPI bases are by sex; numeric operators carry a value.
with cat as (select * from {{ ref('indicator_catalogue') }})
select a.indicator_code, 'alias differs from its base' as problem
from cat as a
inner join cat as b on b.indicator_code = a.computed_from
where a.derivation is null
  and (a.unit <> b.unit or a.sex_scope <> b.sex_scope or a.age_group_code <> b.age_group_code
       or a.aggregation <> b.aggregation or b.computed_from is not null)
union all
select a.indicator_code, 'gpi base is not by sex'
from cat as a
inner join cat as b on b.indicator_code = a.computed_from
where a.derivation = 'gpi' and (b.sex_scope <> 'by_sex' or a.sex_scope <> 'total_only')
union all
select indicator_code, 'target operator needs a value'
from cat
where target_operator in ('>=', '<=', '=', 'balanced', 'pct_change_vs_baseline')
  and target_value is null and target_reference_indicator is null
union all
select indicator_code, 'target without a plan clause or year'
from cat
where target_operator is not null and (plan_clause is null or target_year is null)
