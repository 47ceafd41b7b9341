-- One row per indicator × period × area.
select indicator_code, period_year, area_code, count(*) as n
from {{ ref('fct_indicator_publication') }}
group by all
having count(*) > 1
