-- SDMX 结构标识 · the maintainable artefacts of the submission's SDMX structure message (agency, concept scheme,
-- data structure definition, dataflow) with their ids and names; ids and version from the dbt vars sdmx_*.
select
    cast(kind as varchar) as artefact_kind,
    cast('{{ var("sdmx_agency_id") }}' as varchar) as agency_id,
    cast(artefact_id as varchar) as artefact_id,
    cast('{{ var("sdmx_version") }}' as varchar) as version,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en
from (values
    ('agency', '{{ var("sdmx_agency_id") }}', '{{ var("sdmx_agency_name_zh") }}', '{{ var("sdmx_agency_name_en") }}'),
    ('concept_scheme', 'CS_{{ var("sdmx_dataflow_id") }}', '妇女儿童发展规划监测概念', 'Concepts of the women''s and children''s plan monitoring'),
    ('data_structure', 'DSD_{{ var("sdmx_dataflow_id") }}', '妇女儿童发展规划监测数据结构', 'Data structure of the women''s and children''s plan monitoring'),
    ('dataflow', '{{ var("sdmx_dataflow_id") }}', '双清区妇女儿童发展规划（2021–2025）监测指标', 'Indicators monitoring the Shuangqing women''s and children''s development plans 2021-2025')
) as t(kind, artefact_id, name_zh, name_en)
