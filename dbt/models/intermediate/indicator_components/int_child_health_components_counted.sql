-- 指标分量：儿童保健 · components from the child health register (health statistical year;
-- ages at 30 Sep). Denominators are the registered children of the age (as in the MCH annual report).
{%- set definitions = [
    {'code': 'c_hlt_child_system_management', 'filter': 'is_under3', 'numerator': 'is_systematically_managed', 'age_group': 'Y0T2', 'needs': ['birth_date', 'systematic_management']},
    {'code': 'c_hlt_child_health_management', 'filter': 'is_under7', 'numerator': 'had_health_check', 'age_group': 'Y0T6', 'needs': ['birth_date', 'health_checks']},
    {'code': 'c_hlt_vision_check', 'filter': 'is_under7', 'numerator': 'is_vision_checked', 'age_group': 'Y0T6', 'needs': ['birth_date', 'vision_checked']},
    {'code': 'c_hlt_u5_anaemia', 'filter': 'is_aged_6_59_months and hemoglobin_g_l is not null', 'numerator': 'is_anaemic', 'age_group': 'Y0T4', 'needs': ['birth_date', 'hemoglobin_g_l']},
    {'code': 'c_hlt_u5_stunting', 'filter': 'is_under5 and height_for_age_z is not null', 'numerator': 'is_stunted', 'age_group': 'Y0T4', 'needs': ['birth_date', 'height_for_age_z']},
    {'code': 'c_hlt_immunization', 'filter': 'is_under7 and is_fully_immunized is not null', 'numerator': 'is_fully_immunized', 'age_group': 'Y0T6', 'needs': ['birth_date', 'fully_immunized']},
] %}

{{ count_components(ref('int_child_health_records_enriched'), definitions) }}
