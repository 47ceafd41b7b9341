-- 全区合计 = 各乡镇之和（分子、分母分别相加；不可加指标与性别均等指数除外）。
-- For additive indicators reported by township, district numerators and denominators are the sums of the townships'.
with v as (
    select v.*
    from {{ ref('fct_indicator_values') }} as v
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = v.indicator_code
    where i.aggregation = 'sum' and i.derivation is null
),
townships as (
    select indicator_code, period_year, sex, age_group_code, residence,
           sum(numerator) as numerator, sum(coalesce(denominator, 0)) as denominator
    from v
    where area_level = 'township'
    group by all
)
select t.*, d.numerator as district_numerator, d.denominator as district_denominator
from townships as t
inner join v as d
    on d.indicator_code = t.indicator_code and d.period_year = t.period_year and d.sex = t.sex
   and d.age_group_code = t.age_group_code and d.residence = t.residence
   and d.area_code = '{{ var('district_code') }}'
where abs(d.numerator - t.numerator) > 1e-6
   or abs(coalesce(d.denominator, 0) - t.denominator) > 1e-6
