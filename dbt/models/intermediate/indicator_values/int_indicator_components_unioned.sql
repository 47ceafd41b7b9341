-- 指标分量（合并）· all indicator components at the finest grain, from every source family, plus the
-- rows of catalogue indicators computed as another indicator (`computed_from`, no derivation: the same
-- computation monitored under another plan's target). Only indicators in the catalogue pass.
{%- set families = [
    'int_birth_components_counted',
    'int_death_components_counted',
    'int_child_health_components_counted',
    'int_screening_components_counted',
    'int_enrolment_components_counted',
    'int_consolidation_components_counted',
    'int_student_health_components_counted',
    'int_committee_components_counted',
    'int_assistance_components_counted',
    'int_justice_components_counted',
    'int_form_components_counted',
] %}

with components as (
    {%- for family in families %}
    select
        indicator_code, period_year, area_code, sex, age_group_code, residence,
        numerator, denominator, is_incomplete,
        '{{ family }}' as component_model
    from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
catalogue as (
    select indicator_code, computed_from, derivation
    from {{ ref('indicator_catalogue') }}
),
own as (
    select c.*
    from components as c
    inner join catalogue as cat on cat.indicator_code = c.indicator_code
    where cat.computed_from is null
),
aliased as (
    select
        cat.indicator_code,
        c.period_year, c.area_code, c.sex, c.age_group_code, c.residence,
        c.numerator, c.denominator, c.is_incomplete, c.component_model
    from own as c
    inner join catalogue as cat on cat.computed_from = c.indicator_code
    where cat.derivation is null
)
select * from own
union all
select * from aliased
