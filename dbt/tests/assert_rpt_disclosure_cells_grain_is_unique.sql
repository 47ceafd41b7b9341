-- 公开单元格粒度唯一。rpt_disclosure_cells: one row per indicator × year × area × sex (the suppression keys by them).
select indicator_code, period_year, area_code, sex, count(*) as n_rows
from {{ ref('rpt_disclosure_cells') }}
group by all
having count(*) > 1
