-- 零分母不产生指标值（从不除以零）；计数类指标无分母。Zero denominators give NULL values; counts carry no denominator.
select indicator_code, period_year, area_code, sex, age_group_code, residence, numerator, denominator, value
from {{ ref('fct_indicator_values') }}
where (zero_denominator_flag and value is not null)
   or (unit not in ('count', 'years') and coalesce(denominator, 0) = 0 and not zero_denominator_flag)
   or (unit in ('count', 'years') and denominator is not null)
