-- 指标分量：入学 · enrolment components: gross enrolment ratios (students of any age in school year Y
-- over the population of the official age at 31 Dec of Y) and female shares of students.
{%- set gross_enrolment = [
    {'code': 'c_edu_preschool_ger', 'students': 'is_kindergarten', 'age_group': 'Y3T5', 'needs': ['school_type']},
    {'code': 'c_edu_upper_secondary_ger', 'students': 'is_upper_secondary', 'age_group': 'Y15T17', 'needs': ['school_type']},
] %}
{%- set female_shares = [
    {'code': 'w_edu_kindergarten_female_share', 'sex': 'total', 'filter': 'is_kindergarten', 'numerator': "sex = '2'", 'needs': ['school_type', 'sex']},
    {'code': 'w_edu_vocational_female_share', 'sex': 'total', 'filter': 'is_vocational', 'numerator': "sex = '2'", 'needs': ['school_type', 'sex']},
] %}
{%- set students = ref('int_students_enriched') %}

{% call sum_components() %}
{%- for g in gross_enrolment %}
{{ count_components(students, [{'code': g['code'], 'filter': g['students'], 'numerator': 'true', 'denominator': 'false', 'age_group': g['age_group'], 'needs': g['needs']}]) }}
union all
{{ population_components(g['code'], g['age_group'], 'person', years_from=students) }}
union all
{%- endfor %}
{{ count_components(students, female_shares) }}
{% endcall %}
