-- 年度报告·性别差距 · the district's female and male values side by side (fct_gender_gaps) at each indicator's
-- defining age group and residence total.
select g.*
from {{ ref('fct_gender_gaps') }} as g
inner join {{ ref('dim_indicator') }} as i on i.indicator_code = g.indicator_code and i.age_group_code = g.age_group_code
inner join {{ ref('dim_area') }} as a on a.area_code = g.area_code and a.level = 'county' and a.is_reported
where g.residence = '_T'
