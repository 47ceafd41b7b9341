-- 指标分量：学生体质与视力 · components from the student fitness and vision survey (school year).
{%- set definitions = student_health_definitions()['definitions'] %}

{{ count_components(ref('int_student_health_surveys_enriched'), definitions, residence_column=none) }}
