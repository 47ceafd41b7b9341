-- 指标分量：儿童保健 · components from the child health register (health statistical year;
-- ages at 30 Sep). Denominators are the registered children of the age (as in the MCH annual report).
{%- set definitions = child_health_definitions()['definitions'] %}

{{ count_components(ref('int_child_health_records_enriched'), definitions) }}
