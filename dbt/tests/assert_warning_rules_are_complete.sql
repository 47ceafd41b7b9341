-- 预警规则参数齐全且取值合理（fct_early_warnings 依赖每一项）。Every warning rule parameter is present and sensible.
with expected (rule_code, min_value, max_value) as (
    values ('trend_window_years', 2, 50), ('trend_min_years', 3, 50), ('rare_event_pool_years', 1, 10),
           ('volatility_bound_pct', 0, 1000), ('volatility_reference_years', 1, 50), ('volatility_skip_small_numbers', 0, 1)
)
select e.rule_code, r.value
from expected as e
left join {{ ref('warning_rules') }} as r on r.rule_code = e.rule_code
where r.value is null or r.value < e.min_value or r.value > e.max_value
