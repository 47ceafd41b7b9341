-- 指标分量：入学 · enrolment components: gross enrolment ratios (students of any age in school year Y
-- over the population of the official age at 31 Dec of Y) and female shares of students.
{%- set gross_enrolment = enrolment_definitions()['gross_enrolment'] %}
{%- set female_shares = enrolment_definitions()['female_shares'] %}
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
