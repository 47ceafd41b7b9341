-- One row per feed × period × area.
select feed_code, period_year, area_code, count(*) as n
from {{ ref('fct_reporting_completeness') }}
group by all
having count(*) > 1
