-- Rare events (HIV transmission, treatment of infected mothers) use no filter, so a township-year
-- without any infected mother still gets its row (0 ÷ 0, value NULL): zero stays distinct from missing.
-- 指标分量：活产 · indicator components computed from live births (health statistical year).
-- One dict per indicator: adding a births-based indicator is one line here plus its catalogue row.
{%- set definitions = [
    {'code': 'c_hlt_sex_ratio_at_birth', 'sex': 'total', 'numerator': "sex = '1'", 'denominator': "sex = '2'", 'needs': ['child_sex']},
    {'code': 'c_hlt_low_birth_weight', 'filter': 'birth_weight_g is not null', 'numerator': 'is_low_birth_weight', 'needs': ['birth_weight_g']},
    {'code': 'c_hlt_newborn_screening', 'numerator': 'is_newborn_screened', 'needs': ['newborn_screened']},
    {'code': 'c_hlt_exclusive_breastfeeding', 'filter': 'is_exclusively_breastfed_6m is not null', 'numerator': 'is_exclusively_breastfed_6m', 'needs': ['exclusive_breastfeeding_6m']},
    {'code': 'c_hlt_prepregnancy_check', 'sex': 'total', 'numerator': 'had_prepregnancy_check', 'needs': ['prepregnancy_check']},
    {'code': 'c_hlt_prenatal_screening', 'sex': 'total', 'numerator': 'is_prenatal_screened', 'needs': ['prenatal_screened']},
    {'code': 'w_hlt_maternal_system_management', 'sex': 'total', 'numerator': 'is_system_managed', 'needs': ['registered_week', 'antenatal_visits', 'postpartum_visit']},
    {'code': 'w_hlt_hospital_delivery', 'sex': 'total', 'numerator': 'is_hospital_delivery', 'needs': ['hospital_delivery']},
    {'code': 'w_hlt_hiv_mtct', 'sex': 'total', 'numerator': 'is_hiv_positive and is_hiv_infant_infected', 'denominator': 'is_hiv_positive and is_hiv_infant_infected is not null', 'needs': ['hiv_positive', 'hiv_infant_infected']},
    {'code': 'w_hlt_congenital_syphilis', 'sex': 'total', 'numerator': 'has_congenital_syphilis', 'needs': ['congenital_syphilis']},
    {'code': 'w_hlt_infected_mother_treatment', 'sex': 'total', 'numerator': 'is_hiv_or_syphilis_positive and is_mother_treated', 'denominator': 'is_hiv_or_syphilis_positive', 'needs': ['hiv_positive', 'syphilis_positive', 'mother_treated']},
] %}
{#- Births per 1,000 women of an age group: numerator from births by mother's age, denominator the female population. -#}
{%- set per_women = [
    {'code': 'w_hlt_adolescent_birth_rate', 'filter': 'mother_age_years between 15 and 19', 'age_group': 'Y15T19', 'needs': ['mother_birth_date', 'birth_date']},
] %}
{%- set births = ref('int_births_enriched') %}

{% call sum_components() %}
{{ count_components(births, definitions) }}
{%- for d in per_women %}
union all
{{ count_components(births, [dict(d, numerator='true', denominator='false', sex='female')]) }}
union all
{{ population_components(d['code'], d['age_group'], 'female', years_from=births) }}
{%- endfor %}
{% endcall %}
