-- 报送数据清单 · every feed the completeness models expect: each extract of reporting_feeds(), each
-- department's forms file ('forms/<department>') and each form item ('forms:<item_code>') of seed form_items,
-- with how its coverage is judged ('township': every township must appear; 'register': district-wide).
{%- set feeds = reporting_feeds() %}
{%- for f in feeds %}
select '{{ f.extract }}' as feed_code, 'extract' as feed_kind, '{{ f.extract }}' as extract_name,
       cast(null as varchar) as source_department, cast(null as varchar) as item_code,
       '{{ f.coverage }}' as coverage_unit, '{{ f.name_zh }}' as feed_name_zh, '{{ f.name_en }}' as feed_name_en
union all
{%- endfor %}
select distinct 'forms/' || department, 'form_file', 'forms', department, null, 'register',
       {{ form_department_name_zh('department') }} || '统计报表', 'statistical form (' || department || ')'
from {{ ref('form_items') }}
union all
select 'forms:' || item_code, 'form_item', 'forms', department, item_code,
       case when level = 'township' then 'township' else 'register' end,
       {{ form_department_name_zh('department') }} || '统计报表·' || name_zh, name_en || ' (form of ' || department || ')'
from {{ ref('form_items') }}
