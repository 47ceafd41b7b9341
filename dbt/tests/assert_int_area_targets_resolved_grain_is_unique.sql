-- One target per indicator and area: two rows would double the attainment rows joined to it.
select indicator_code, area_code, count(*) as n
from {{ ref('int_area_targets_resolved') }}
group by indicator_code, area_code
having count(*) > 1
