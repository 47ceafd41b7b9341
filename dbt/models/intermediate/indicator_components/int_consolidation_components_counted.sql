-- 指标分量：九年义务教育巩固率 · junior-secondary graduating class of school year Y (students)
-- over the grade-1 enrolment of the same cohort in school year Y-8 (grade_history), by sex.
-- grade_history carries no area, so both sides are counted for the reporting district.
{%- set code = 'c_edu_compulsory_consolidation' %}
{%- set district = "'" ~ var('district_code') ~ "'" %}
{%- set students = ref('int_students_enriched') %}

{% call sum_components() %}
{{ count_components(students, consolidation_definitions()['graduates'],
                    area_column=district, residence_column=none) }}
union all
select
    {{ component_columns("'" ~ code ~ "'", 'g.school_year + 8', district, component_sex('g.sex'), "'_T'", "'_T'", '0', 'sum(g.enrolled)') }}
from {{ ref('stg_education__grade_histories') }} as g
where g.grade = 1
  and g.school_year + 8 in (select distinct period_year from {{ students }})
group by all
{% endcall %}
