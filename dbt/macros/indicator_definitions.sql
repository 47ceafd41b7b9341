{#-
  The indicator definitions of each source family (see count_components for the keys of a definition),
  read by the family's component model (int_<family>_components_counted) and by the exclusions model
  (int_indicator_exclusions_counted), so the records an indicator could not use are counted with the
  very definitions that count the indicator. Adding an indicator: one line here, its catalogue row and
  a unit test beside its component model.
-#}

{% macro assistance_definitions() -%}
{%- set female_shares = [
    {'code': 'w_ss_dibao_female_share', 'sex': 'total', 'filter': "programme = 'dibao'", 'numerator': "sex = '2'", 'needs': ['programme', 'sex']},
] %}
{%- set per_population = [
    {'code': 'w_ss_dibao_rate', 'filter': "programme = 'dibao'", 'age_group': '_T', 'needs': ['programme']},
] %}
{{- return({'female_shares': female_shares, 'per_population': per_population}) -}}
{%- endmacro %}

{% macro births_definitions() -%}
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
    {'code': 'w_hlt_maternal_hiv_tested', 'sex': 'total', 'numerator': 'is_hiv_tested', 'needs': ['hiv_tested']},
    {'code': 'w_hlt_maternal_syphilis_tested', 'sex': 'total', 'numerator': 'is_syphilis_tested', 'needs': ['syphilis_tested']},
    {'code': 'w_hlt_maternal_hbv_tested', 'sex': 'total', 'numerator': 'is_hbv_tested', 'needs': ['hbv_tested']},
    {'code': 'c_hlt_newborn_visit', 'numerator': 'is_newborn_visited', 'needs': ['newborn_visited']},
    {'code': 'c_hlt_infected_mother_infant_treatment', 'numerator': 'is_hiv_syphilis_or_hbv_positive and is_infant_treated', 'denominator': 'is_hiv_syphilis_or_hbv_positive', 'needs': ['hiv_positive', 'syphilis_positive', 'hbv_positive', 'infant_treated']},
] %}
{%- set per_women = [
    {'code': 'w_hlt_adolescent_birth_rate', 'filter': 'mother_age_years between 15 and 19', 'age_group': 'Y15T19', 'needs': ['mother_birth_date', 'birth_date']},
] %}
{{- return({'definitions': definitions, 'per_women': per_women}) -}}
{%- endmacro %}

{% macro child_health_definitions() -%}
{%- set definitions = [
    {'code': 'c_hlt_child_system_management', 'filter': 'is_under3', 'numerator': 'is_systematically_managed', 'age_group': 'Y0T2', 'needs': ['birth_date', 'systematic_management']},
    {'code': 'c_hlt_child_health_management', 'filter': 'is_under7', 'numerator': 'had_health_check', 'age_group': 'Y0T6', 'needs': ['birth_date', 'health_checks']},
    {'code': 'c_hlt_vision_check', 'filter': 'is_under7', 'numerator': 'is_vision_checked', 'age_group': 'Y0T6', 'needs': ['birth_date', 'vision_checked']},
    {'code': 'c_hlt_u5_anaemia', 'filter': 'is_aged_6_59_months and hemoglobin_g_l is not null', 'numerator': 'is_anaemic', 'age_group': 'Y0T4', 'needs': ['birth_date', 'hemoglobin_g_l']},
    {'code': 'c_hlt_u5_stunting', 'filter': 'is_under5 and height_for_age_z is not null', 'numerator': 'is_stunted', 'age_group': 'Y0T4', 'needs': ['birth_date', 'height_for_age_z']},
    {'code': 'c_hlt_immunization', 'filter': 'is_under7 and is_fully_immunized is not null', 'numerator': 'is_fully_immunized', 'age_group': 'Y0T6', 'needs': ['birth_date', 'fully_immunized']},
] %}
{{- return({'definitions': definitions}) -}}
{%- endmacro %}

{#- w_dec_village_heads_female_share: 村主职 = the village Party secretary and the committee chair; a member holding
    both (一肩挑) is one row of the roster, so counted once. -#}
{% macro committee_definitions() -%}
{%- set definitions = [
    {'code': 'w_dec_village_committee_female_share', 'filter': "committee_type = 'village'", 'needs': ['committee_type']},
    {'code': 'w_dec_village_chair_female_share', 'filter': "committee_type = 'village' and is_chair", 'needs': ['committee_type', 'role']},
    {'code': 'w_dec_village_party_secretary_female_share', 'filter': "committee_type = 'village' and is_party_secretary", 'needs': ['committee_type', 'party_secretary']},
    {'code': 'w_dec_village_heads_female_share', 'filter': "committee_type = 'village' and (is_chair or is_party_secretary)", 'needs': ['committee_type', 'role', 'party_secretary']},
    {'code': 'w_dec_community_committee_female_share', 'filter': "committee_type = 'community'", 'needs': ['committee_type']},
    {'code': 'w_dec_community_chair_female_share', 'filter': "committee_type = 'community' and is_chair", 'needs': ['committee_type', 'role']},
    {'code': 'w_dec_community_party_secretary_female_share', 'filter': "committee_type = 'community' and is_party_secretary", 'needs': ['committee_type', 'party_secretary']},
] %}
{#- a female share: sex does not apply (rows carry '_T'), the member's sex is needed -#}
{%- set shares = [] %}
{%- for d in definitions %}{% do shares.append(dict(d, sex='total', numerator="sex = '2'", needs=d['needs'] + ['sex'])) %}{% endfor %}
{{- return({'shares': shares}) -}}
{%- endmacro %}

{% macro deaths_definitions() -%}
{%- set definitions = [
    {'code': 'w_hlt_maternal_mortality', 'deaths': 'is_maternal_death', 'sex': 'total', 'per': 'live_births', 'needs': ['maternal_death']},
    {'code': 'c_hlt_neonatal_mortality', 'deaths': 'is_neonatal_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_hlt_infant_mortality', 'deaths': 'is_infant_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_hlt_u5_mortality', 'deaths': 'is_under5_death', 'sex': 'person', 'per': 'live_births', 'needs': ['birth_date', 'death_date']},
    {'code': 'c_saf_injury_mortality', 'deaths': 'is_child_death and is_injury_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'injury_death']},
    {'code': 'c_saf_drowning_mortality', 'deaths': 'is_child_death and is_drowning_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'cause_icd10']},
    {'code': 'c_saf_fall_burn_poisoning_mortality', 'deaths': 'is_child_death and is_fall_burn_poisoning_death', 'sex': 'person', 'per': 'population', 'age_group': 'Y0T17', 'needs': ['birth_date', 'death_date', 'cause_icd10']},
] %}
{{- return({'definitions': definitions}) -}}
{%- endmacro %}

{% macro enrolment_definitions() -%}
{%- set gross_enrolment = [
    {'code': 'c_edu_preschool_ger', 'students': 'is_kindergarten', 'age_group': 'Y3T5', 'needs': ['school_type']},
    {'code': 'c_edu_upper_secondary_ger', 'students': 'is_upper_secondary', 'age_group': 'Y15T17', 'needs': ['school_type']},
] %}
{%- set female_shares = [
    {'code': 'w_edu_kindergarten_female_share', 'sex': 'total', 'filter': 'is_kindergarten', 'numerator': "sex = '2'", 'needs': ['school_type', 'sex']},
    {'code': 'w_edu_vocational_female_share', 'sex': 'total', 'filter': 'is_vocational', 'numerator': "sex = '2'", 'needs': ['school_type', 'sex']},
] %}
{{- return({'gross_enrolment': gross_enrolment, 'female_shares': female_shares}) -}}
{%- endmacro %}

{% macro justice_definitions() -%}
{%- set victim_rates = [
    {'code': 'w_law_dv_victim_rate', 'filter': "case_type = 'domestic_violence' and sex = '2' and not is_child", 'sex': 'female', 'age_group': 'Y_GE18', 'needs': ['case_type', 'victim_sex', 'victim_birth_date', 'victim_id_number']},
    {'code': 'w_law_sexual_violence_trafficking_victim_rate', 'filter': "case_type in ('sexual_assault', 'indecency', 'trafficking') and sex = '2' and not is_child", 'sex': 'female', 'age_group': 'Y_GE18', 'needs': ['case_type', 'victim_sex', 'victim_birth_date', 'victim_id_number']},
    {'code': 'c_saf_child_dv_victim_rate', 'filter': "case_type = 'domestic_violence' and is_child", 'sex': 'person', 'age_group': 'Y0T17', 'needs': ['case_type', 'victim_birth_date', 'victim_id_number']},
    {'code': 'c_law_child_crime_victim_rate', 'filter': 'is_child', 'sex': 'person', 'age_group': 'Y0T17', 'needs': ['victim_birth_date', 'victim_id_number']},
] %}
{%- set victim_shares = [
    {'code': 'w_law_dv_protection_rate', 'filter': "case_type = 'domestic_violence'", 'numerator': 'has_warning_letter or has_protection_order', 'needs': ['case_type', 'warning_letter', 'protection_order', 'victim_id_number']},
] %}
{%- set legal_aid_counts = [
    {'code': 'w_law_women_legal_aid', 'filter': "aid_category = 'women_rights' and sex = '2'", 'sex': 'female', 'needs': ['category', 'sex']},
    {'code': 'c_law_minor_legal_aid', 'filter': "aid_category = 'minors'", 'sex': 'person', 'needs': ['category']},
] %}
{{- return({'victim_rates': victim_rates, 'victim_shares': victim_shares, 'legal_aid_counts': legal_aid_counts}) -}}
{%- endmacro %}

{% macro screening_definitions() -%}
{#- Per screening record of the statistical year (not the three-year pool of the screening rates). The cancers
    are a denominator condition, not a filter, so a township-year of screenings without a cancer keeps its
    row (0 of 0, no value): zero stays distinct from missing. Only years with a screening file of their own. -#}
{%- set screenings = ref('stg_health__cancer_screenings') %}
{%- set treatment = [
    {'code': 'w_hlt_cervical_cancer_treatment', 'sex': 'female',
     'filter': 'period_year in (select file_period_year from ' ~ screenings ~ ')',
     'numerator': "screening_type = 'cervical' and screening_result = 'cancer' and is_treated",
     'denominator': "screening_type = 'cervical' and screening_result = 'cancer'",
     'needs': ['screening_type', 'result', 'treated']},
] %}
{{- return({'treatment': treatment}) -}}
{%- endmacro %}

{% macro student_health_definitions() -%}
{%- set definitions = [
    {'code': 'c_hlt_myopia_primary', 'filter': "education_level = 'primary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_junior', 'filter': "education_level = 'junior_secondary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_senior', 'filter': "education_level = 'upper_secondary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_incidence', 'filter': 'had_myopia_previous_year = false and has_myopia is not null', 'numerator': 'has_myopia', 'needs': ['myopia']},
    {'code': 'c_hlt_caries_12', 'filter': 'has_caries is not null', 'numerator': 'has_caries', 'needs': ['caries']},
    {'code': 'c_hlt_fitness_good', 'filter': "education_level in ('primary', 'junior_secondary', 'upper_secondary') and fitness_rating is not null", 'numerator': 'is_fitness_good', 'needs': ['school_type', 'fitness_rating']},
] %}
{{- return({'definitions': definitions}) -}}
{%- endmacro %}

{% macro consolidation_definitions() -%}
{#- 初中毕业班 of school year Y (numerator; the denominator is grade_history's grade 1 of Y-8) -#}
{%- set graduates = [
    {'code': 'c_edu_compulsory_consolidation', 'filter': 'is_junior_graduate', 'numerator': 'true', 'denominator': 'false', 'needs': ['student_id', 'school_type', 'grade']},
] %}
{{- return({'graduates': graduates}) -}}
{%- endmacro %}
