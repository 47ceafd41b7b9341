-- A code appears once in its code list (an SDMX code list has unique ids).
select codelist_id, code_id, count(*) as n
from {{ ref('rpt_sdmx_codes') }}
group by codelist_id, code_id
having count(*) > 1
