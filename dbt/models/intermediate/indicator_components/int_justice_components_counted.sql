-- 指标分量：司法 · victims of cases against women and children per 100,000 residents of the
-- group, protection measures for domestic violence victims, and legal aid counts (calendar year).
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
{%- set victims = ref('int_case_victims_enriched') %}
{%- set legal_aid = ref('stg_justice__legal_aid_recipients') %}

{% call sum_components() %}
{%- for d in victim_rates %}
{{ count_components(victims, [dict(d, numerator='true', denominator='false')], residence_column=none) }}
union all
{{ population_components(d['code'], d['age_group'], d['sex'], years_from=victims, by_residence=false) }}
union all
{%- endfor %}
{{ count_components(victims, victim_shares, residence_column=none) }}
union all
{%- set counts = [] %}{% for d in legal_aid_counts %}{% do counts.append(dict(d, numerator='true', denominator='false')) %}{% endfor %}
{{ count_components(legal_aid, counts, residence_column=none) }}
{% endcall %}
