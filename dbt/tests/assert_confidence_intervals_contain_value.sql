-- 置信区间包含指标值（四舍五入容差）。The CI contains the value (rounding tolerance).
select indicator_code, period_year, area_code, sex, age_group_code, residence, value, ci_lower, ci_upper
from {{ ref('fct_indicator_values') }}
where value is not null and ci_lower is not null
  and (ci_lower > value + 1e-3 or (ci_upper is not null and ci_upper < value - 1e-3))
