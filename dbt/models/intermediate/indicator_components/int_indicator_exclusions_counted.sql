-- 指标未能使用的记录 · per indicator, year and component area (township; the district for the
-- consolidation rate): records the indicator could not use, counted with the very definitions of the
-- component models (macros/indicator_definitions.sql) by count_exclusions:
--   field_invalid      a field the indicator needs was blanked at ingestion (one row per field)
--   sex_unknown        counted in the sex total only; residence_unknown: in the residence total only
-- Each block mirrors the count_components calls of its family's component model.
-- Not here: the population (aggregate cells, not records) and the forms (every field row-critical).
{%- set births = ref('int_births_enriched') %}
{%- set deaths = ref('int_deaths_classified') %}
{%- set students = ref('int_students_enriched') %}
{%- set victims = ref('int_case_victims_enriched') %}
{%- set recipients = ref('int_social_assistance_recipients_enriched') %}
{%- set district = "'" ~ var('district_code') ~ "'" %}
{%- set death_years = '(select distinct period_year from ' ~ deaths ~ ')' %}
{%- set parts = [] %}

{#- int_birth_components_counted -#}
{%- set b = births_definitions() %}
{%- do parts.append(count_exclusions(births, b['definitions'])) %}
{%- for d in b['per_women'] %}{% do parts.append(count_exclusions(births, [dict(d, sex='female')])) %}{% endfor %}

{#- int_death_components_counted: the deaths counted, and the live births of their denominators -#}
{%- for m in deaths_definitions()['definitions'] %}
{%- do parts.append(count_exclusions(deaths, [{'code': m['code'], 'filter': m['deaths'], 'sex': m['sex'], 'needs': m['needs']}])) %}
{%- if m['per'] == 'live_births' %}
{%- do parts.append(count_exclusions(births, [{'code': m['code'], 'filter': 'period_year in ' ~ death_years, 'sex': m['sex']}])) %}
{%- endif %}
{%- endfor %}

{#- int_child_health_components_counted -#}
{%- do parts.append(count_exclusions(ref('int_child_health_records_enriched'), child_health_definitions()['definitions'])) %}

{#- int_committee_components_counted -#}
{%- do parts.append(count_exclusions(ref('int_committee_members_classified'), committee_definitions()['shares'], residence_column=none)) %}

{#- int_assistance_components_counted -#}
{%- set a = assistance_definitions() %}
{%- do parts.append(count_exclusions(recipients, a['female_shares'])) %}
{%- do parts.append(count_exclusions(recipients, a['per_population'])) %}

{#- int_consolidation_components_counted: counted for the district -#}
{%- do parts.append(count_exclusions(students, consolidation_definitions()['graduates'], area_column=district, residence_column=none)) %}

{#- int_enrolment_components_counted -#}
{%- set e = enrolment_definitions() %}
{%- for g in e['gross_enrolment'] %}
{%- do parts.append(count_exclusions(students, [{'code': g['code'], 'filter': g['students'], 'needs': g['needs']}])) %}
{%- endfor %}
{%- do parts.append(count_exclusions(students, e['female_shares'])) %}

{#- int_justice_components_counted -#}
{%- set j = justice_definitions() %}
{%- do parts.append(count_exclusions(victims, j['victim_rates'], residence_column=none)) %}
{%- do parts.append(count_exclusions(victims, j['victim_shares'], residence_column=none)) %}
{%- do parts.append(count_exclusions(ref('stg_justice__legal_aid_recipients'), j['legal_aid_counts'], residence_column=none)) %}

{#- int_student_health_components_counted -#}
{%- do parts.append(count_exclusions(ref('int_student_health_surveys_enriched'), student_health_definitions()['definitions'], residence_column=none)) %}

{#- int_screening_components_counted: the screenings of year Y whose ID number (the pooling is by person),
    birth date (the age group) or type is invalid; an unknown residence counts in the total only -#}
{%- for code, kind in [('w_hlt_cervical_screening', 'cervical'), ('w_hlt_breast_screening', 'breast')] %}
{%- do parts.append(count_exclusions(ref('stg_health__cancer_screenings'),
        [{'code': code, 'filter': "screening_type = '" ~ kind ~ "'", 'sex': 'female', 'needs': ['id_number', 'birth_date', 'screening_type']}])) %}
{%- endfor %}
{%- do parts.append(count_exclusions(ref('stg_health__cancer_screenings'), screening_definitions()['treatment'])) %}

select indicator_code, period_year, area_code, reason_code, field_name, sum(records) as records
from (
{{ parts | join('\nunion all\n') }}
) as exclusions
group by all
