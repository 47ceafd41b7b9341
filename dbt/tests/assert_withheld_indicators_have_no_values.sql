-- A figure withheld for a period is not published for that period at that area.
select p.indicator_code, p.period_year, p.area_code
from {{ ref('fct_indicator_publication') }} as p
inner join {{ ref('fct_indicator_values') }} as v
    on v.indicator_code = p.indicator_code and v.period_year = p.period_year and v.area_code = p.area_code
where p.publication_status = 'withheld'
