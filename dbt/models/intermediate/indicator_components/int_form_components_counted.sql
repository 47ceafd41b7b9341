-- 指标分量：部门统计报表 · components from aggregate form items (calendar year, district or township).
-- One dict per indicator. kinds:
--   ratio          numerator item / denominator item        sex: by_sex | total | female
--   female_share   female value / total value of one item   (sex '_T')
--   per_population item / resident population of age_group in the same area   sex: by_sex | total
--   value          the item's value (counts; 'non_additive' keeps reported 1/2/T rows, e.g. life expectancy)
--   per_area_count item / number of areas of `level` in the area (e.g. townships with a venue)
-- by_sex uses the two sexes only where both items were reported by sex, otherwise the totals ('_T').
-- Facilities the plans ask for (危重孕产妇救治中心, 儿童活动中心, ...) are counts ('value', sex total) judged >= 1;
-- a minimum the plans set for every unit (每所卫生院至少1名…, 村级至少1人) is the share of units meeting it (= 100 %).
{%- set definitions = [
    {'code': 'w_hlt_life_expectancy', 'kind': 'value', 'item': 'life_expectancy', 'sex': 'non_additive'},
    {'code': 'w_hlt_cancer_awareness', 'kind': 'ratio', 'numerator_item': 'cancer_awareness_aware', 'denominator_item': 'cancer_awareness_surveyed', 'sex': 'total'},
    {'code': 'w_hlt_pregnant_anaemia', 'kind': 'ratio', 'numerator_item': 'pregnant_anaemia_cases', 'denominator_item': 'pregnant_anaemia_examined', 'sex': 'female'},
    {'code': 'w_hlt_health_literacy', 'kind': 'ratio', 'numerator_item': 'health_literacy_literate', 'denominator_item': 'health_literacy_surveyed', 'sex': 'by_sex'},
    {'code': 'w_edu_higher_ed_ger', 'kind': 'per_population', 'item': 'higher_ed_students', 'age_group': 'Y18T22', 'sex': 'by_sex'},
    {'code': 'w_edu_higher_ed_female_share', 'kind': 'female_share', 'item': 'higher_ed_students'},
    {'code': 'w_edu_science_literacy', 'kind': 'ratio', 'numerator_item': 'science_literacy_qualified', 'denominator_item': 'science_literacy_surveyed', 'sex': 'by_sex'},
    {'code': 'w_eco_employed_female_share', 'kind': 'female_share', 'item': 'employed_persons'},
    {'code': 'w_eco_employment_rate', 'kind': 'per_population', 'item': 'employed_persons', 'age_group': 'Y18T59', 'sex': 'by_sex'},
    {'code': 'w_eco_urban_unit_employee_female_share', 'kind': 'female_share', 'item': 'urban_unit_employees'},
    {'code': 'w_eco_high_skill_female_share', 'kind': 'female_share', 'item': 'high_skill_workers'},
    {'code': 'w_eco_senior_title_female_share', 'kind': 'female_share', 'item': 'senior_title_professionals'},
    {'code': 'w_dec_party_member_female_share', 'kind': 'female_share', 'item': 'party_members'},
    {'code': 'w_dec_party_congress_female_share', 'kind': 'female_share', 'item': 'party_congress_delegates'},
    {'code': 'w_dec_npc_female_share', 'kind': 'female_share', 'item': 'npc_deputies'},
    {'code': 'w_dec_cppcc_female_share', 'kind': 'female_share', 'item': 'cppcc_members'},
    {'code': 'w_dec_women_in_party_committee_leadership', 'kind': 'value', 'item': 'leaders_party_committee', 'sex': 'female'},
    {'code': 'w_dec_women_in_npc_leadership', 'kind': 'value', 'item': 'leaders_npc', 'sex': 'female'},
    {'code': 'w_dec_women_in_government_leadership', 'kind': 'value', 'item': 'leaders_government', 'sex': 'female'},
    {'code': 'w_dec_women_in_cppcc_leadership', 'kind': 'value', 'item': 'leaders_cppcc', 'sex': 'female'},
    {'code': 'w_dec_dept_leader_female_share', 'kind': 'female_share', 'item': 'dept_leaders'},
    {'code': 'w_dec_dept_chief_female_share', 'kind': 'female_share', 'item': 'dept_chief_leaders'},
    {'code': 'w_dec_dept_teams_with_women', 'kind': 'ratio', 'numerator_item': 'dept_teams_with_women', 'denominator_item': 'dept_teams', 'sex': 'total'},
    {'code': 'w_dec_public_institution_leader_female_share', 'kind': 'female_share', 'item': 'public_institution_leaders'},
    {'code': 'w_dec_enterprise_board_female_share', 'kind': 'female_share', 'item': 'enterprise_board_members'},
    {'code': 'w_dec_social_org_leader_female_share', 'kind': 'female_share', 'item': 'social_org_leaders'},
    {'code': 'w_ss_maternity_insured', 'kind': 'value', 'item': 'maternity_insurance_insured', 'sex': 'by_sex'},
    {'code': 'w_ss_medical_insurance_coverage', 'kind': 'per_population', 'item': 'basic_medical_insured', 'age_group': '_T', 'sex': 'by_sex'},
    {'code': 'w_ss_pension_insurance_coverage', 'kind': 'per_population', 'item': 'basic_pension_insured', 'age_group': 'Y_GE18', 'sex': 'by_sex'},
    {'code': 'w_ss_unemployment_insured', 'kind': 'value', 'item': 'unemployment_insured', 'sex': 'by_sex'},
    {'code': 'w_ss_work_injury_insured', 'kind': 'value', 'item': 'work_injury_insured', 'sex': 'by_sex'},
    {'code': 'w_env_rural_waste_treatment', 'kind': 'ratio', 'numerator_item': 'admin_villages_waste_treated', 'denominator_item': 'admin_villages', 'sex': 'total'},
    {'code': 'c_env_rural_tap_water', 'kind': 'ratio', 'numerator_item': 'rural_households_tap_water', 'denominator_item': 'rural_households', 'sex': 'total'},
    {'code': 'c_env_rural_sanitary_toilet', 'kind': 'ratio', 'numerator_item': 'rural_households_sanitary_toilet', 'denominator_item': 'rural_households', 'sex': 'total'},
    {'code': 'c_env_youth_venue_coverage', 'kind': 'per_area_count', 'item': 'youth_venue_townships', 'level': 'township'},
    {'code': 'c_hlt_paediatricians_per_1000', 'kind': 'per_population', 'item': 'paediatricians', 'age_group': 'Y0T17', 'sex': 'total'},
    {'code': 'c_hlt_paediatric_beds_per_1000', 'kind': 'per_population', 'item': 'paediatric_beds', 'age_group': 'Y0T17', 'sex': 'total'},
    {'code': 'c_wel_childcare_places_per_1000', 'kind': 'per_population', 'item': 'childcare_places', 'age_group': '_T', 'sex': 'total'},
    {'code': 'c_wel_children_home_coverage', 'kind': 'ratio', 'numerator_item': 'children_homes', 'denominator_item': 'communities_total', 'sex': 'total'},
    {'code': 'c_fam_family_guidance_coverage', 'kind': 'ratio', 'numerator_item': 'family_guidance_sites', 'denominator_item': 'communities_total', 'sex': 'total'},
    {'code': 'c_law_juvenile_offending_rate', 'kind': 'per_population', 'item': 'juvenile_offenders', 'age_group': 'Y10T17', 'sex': 'by_sex'},
    {'code': 'w_hlt_public_mch_institutions', 'kind': 'value', 'item': 'public_mch_institutions', 'sex': 'total'},
    {'code': 'w_hlt_mch_institution_grade2', 'kind': 'value', 'item': 'mch_institutions_grade2', 'sex': 'total'},
    {'code': 'w_hlt_villages_with_mch_worker', 'kind': 'ratio', 'numerator_item': 'villages_with_mch_worker', 'denominator_item': 'admin_villages', 'sex': 'total'},
    {'code': 'w_hlt_critical_maternal_care_centres', 'kind': 'value', 'item': 'critical_maternal_care_centres', 'sex': 'total'},
    {'code': 'w_env_women_children_activity_centres', 'kind': 'value', 'item': 'women_children_activity_centres', 'sex': 'total'},
    {'code': 'c_hlt_health_centres_with_child_gp', 'kind': 'ratio', 'numerator_item': 'health_centres_with_child_gp', 'denominator_item': 'township_health_centres', 'sex': 'total'},
    {'code': 'c_hlt_health_centres_with_two_child_health_doctors', 'kind': 'ratio', 'numerator_item': 'health_centres_with_two_child_health_doctors', 'denominator_item': 'township_health_centres', 'sex': 'total'},
    {'code': 'c_hlt_critical_newborn_care_centres', 'kind': 'value', 'item': 'critical_newborn_care_centres', 'sex': 'total'},
    {'code': 'c_wel_minor_protection_coverage', 'kind': 'per_area_count', 'item': 'minor_protection_townships', 'level': 'township'},
    {'code': 'c_wel_child_care_social_orgs', 'kind': 'value', 'item': 'child_care_social_orgs', 'sex': 'total'},
    {'code': 'c_env_children_activity_centres', 'kind': 'value', 'item': 'children_activity_centres', 'sex': 'total'},
] %}

with resolved as (
    select * from {{ ref('int_form_values_resolved') }}
),
sexes as (
    -- the alias is what names the column (sex)
    select * from (values ('1'), ('2'), ('_T')) as s (sex)  -- noqa: AL05
),
-- population of each area (any level): townships summed up the areas hierarchy
population_by_area as (
    select
        p.period_year,
        anc.ancestor_code as area_code,
        p.sex,
        p.age_group_code,
        sum(p.population) as population
    from {{ ref('int_population_by_age_group') }} as p
    inner join {{ ref('int_area_ancestors_resolved') }} as anc on anc.area_code = p.township_code
    group by all
),
-- number of areas of each level within each area
areas_by_area as (
    select anc.ancestor_code as area_code, a.level, count(*) as n_areas
    from {{ ref('int_area_ancestors_resolved') }} as anc
    inner join {{ ref('areas') }} as a on a.area_code = anc.area_code
    group by all
)

{% call sum_components() %}
{%- for d in definitions %}
{%- set code = "'" ~ d['code'] ~ "'" %}
{%- if d['kind'] == 'ratio' %}
select
    {{ component_columns(code, 'n.period_year', 'n.area_code',
        "'2'" if d['sex'] == 'female' else 's.sex', "'_T'", "'_T'",
        "case s.sex when '1' then n.value_male when '2' then n.value_female else n.value_total end",
        "case s.sex when '1' then d.value_male when '2' then d.value_female else d.value_total end") }}
from resolved as n
inner join resolved as d
    on d.item_code = '{{ d['denominator_item'] }}' and d.period_year = n.period_year and d.area_code = n.area_code
inner join sexes as s
    {%- if d['sex'] == 'by_sex' %}
    on (n.has_sex_breakdown and d.has_sex_breakdown and s.sex in ('1', '2'))
    or (not (n.has_sex_breakdown and d.has_sex_breakdown) and s.sex = '_T')
    {%- else %}
    on s.sex = '_T'
    {%- endif %}
where n.item_code = '{{ d['numerator_item'] }}'
{%- elif d['kind'] == 'female_share' %}
select
    {{ component_columns(code, 'period_year', 'area_code', "'_T'", "'_T'", "'_T'", 'value_female', 'value_total') }}
from resolved
where item_code = '{{ d['item'] }}' and value_female is not null
{%- elif d['kind'] == 'per_population' %}
select
    {{ component_columns(code, 'n.period_year', 'n.area_code', 's.sex', "'" ~ d['age_group'] ~ "'", "'_T'",
        "case s.sex when '1' then n.value_male when '2' then n.value_female else n.value_total end",
        'coalesce(sum(p.population), 0)') }}
from resolved as n
inner join sexes as s
    {%- if d['sex'] == 'by_sex' %}
    on (n.has_sex_breakdown and s.sex in ('1', '2')) or (not n.has_sex_breakdown and s.sex = '_T')
    {%- else %}
    on s.sex = '_T'
    {%- endif %}
left join population_by_area as p
    on p.period_year = n.period_year
   and p.area_code = n.area_code
   and p.age_group_code = '{{ d['age_group'] }}'
   and (s.sex = '_T' or p.sex = s.sex)
where n.item_code = '{{ d['item'] }}'
group by all
{%- elif d['kind'] == 'per_area_count' %}
select
    {{ component_columns(code, 'n.period_year', 'n.area_code', "'_T'", "'_T'", "'_T'", 'n.value_total', 'coalesce(a.n_areas, 0)') }}
from resolved as n
left join areas_by_area as a on a.area_code = n.area_code and a.level = '{{ d['level'] }}'
where n.item_code = '{{ d['item'] }}'
{%- elif d['kind'] == 'value' %}
select
    {{ component_columns(code, 'n.period_year', 'n.area_code',
        "'2'" if d['sex'] == 'female' else 's.sex', "'_T'", "'_T'",
        "case s.sex when '1' then n.value_male when '2' then n.value_female else "
            ~ ('n.value_total_reported' if d['sex'] == 'non_additive' else 'n.value_total') ~ " end",
        '0') }}
from resolved as n
inner join sexes as s
    {%- if d['sex'] == 'by_sex' %}
    on (n.has_sex_breakdown and s.sex in ('1', '2')) or (not n.has_sex_breakdown and s.sex = '_T')
    {%- elif d['sex'] == 'female' %}
    on s.sex = '2'
    {%- elif d['sex'] == 'non_additive' %}
    on true
    {%- else %}
    on s.sex = '_T'
    {%- endif %}
where n.item_code = '{{ d['item'] }}'
  and (case s.sex when '1' then n.value_male when '2' then n.value_female else
       {{ 'n.value_total_reported' if d['sex'] == 'non_additive' else 'n.value_total' }} end) is not null
{%- else %}
{{ exceptions.raise_compiler_error("unknown form component kind " ~ d['kind'] ~ " for " ~ d['code']) }}
{%- endif %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endcall %}
