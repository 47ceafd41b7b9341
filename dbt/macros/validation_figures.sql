{#- The named figures that validation rules (seeds/validation_rules.csv) refer to, `<source>.<measure>`.

    Each figure is one aggregate (`measure`, default count(*)) over one model, per period year, at the
    county level (always), the township level (when `township` names the model's township column) and
    the committee level (when `committee` names its committee column). `department` is the department
    whose feedback workbook lists the findings. Add a figure here and it can be used in a rule; the
    forms get one more figure per reporting department, `forms.<department>.records`, made from the
    form_items seed (see int_validation_figures_catalogued). `<extract>.records` exists for every extract
    that is sent as one file per year (file completeness).

    `year` (default period_year): the column of the model that gives the figure's year. Event records
    (births, deaths, screenings) count in the statistical year of their event (a late report revises its
    year), except their `.records` figures: these check the file a department sent for a year (sent at all,
    every township in it, its size against earlier years), so they count rows by the year in the file's
    name (file_period_year). The event figures come from the intermediate models, which count only years
    that have a file of their own (int_births_enriched). -#}
{% macro validation_figures() %}
{{ return([
    {'code': 'population.records', 'department': 'population', 'model': 'stg_population__residents', 'township': 'township_code',
     'name_zh': '人口表行数', 'name_en': 'rows of the population table'},
    {'code': 'population.total', 'department': 'population', 'model': 'stg_population__residents', 'township': 'township_code',
     'measure': 'sum(population)', 'name_zh': '年末常住人口', 'name_en': 'resident population at year end'},
    {'code': 'population.age_0', 'department': 'population', 'model': 'stg_population__residents', 'township': 'township_code',
     'measure': 'sum(population) filter (where age = 0)', 'name_zh': '年末0岁常住人口', 'name_en': 'resident population aged 0 at year end'},
    {'code': 'births.records', 'department': 'health', 'model': 'stg_health__births', 'township': 'township_code',
     'year': 'file_period_year',
     'name_zh': '出生登记记录数', 'name_en': 'birth register records'},
    {'code': 'births.live_births', 'department': 'health', 'model': 'int_births_enriched', 'township': 'township_code',
     'name_zh': '出生登记活产数', 'name_en': 'live births (birth register)'},
    {'code': 'deaths.records', 'department': 'health', 'model': 'stg_health__deaths', 'township': 'township_code',
     'year': 'file_period_year',
     'name_zh': '死亡登记记录数', 'name_en': 'death register records'},
    {'code': 'deaths.under_1', 'department': 'health', 'model': 'int_deaths_classified', 'township': 'township_code',
     'measure': 'count(*) filter (where is_infant_death)', 'name_zh': '婴儿（1岁以下）死亡数', 'name_en': 'infant deaths (under 1)'},
    {'code': 'deaths.under_5', 'department': 'health', 'model': 'int_deaths_classified', 'township': 'township_code',
     'measure': 'count(*) filter (where is_under5_death)', 'name_zh': '5岁以下儿童死亡数', 'name_en': 'deaths under 5'},
    {'code': 'deaths.maternal', 'department': 'health', 'model': 'int_deaths_classified', 'township': 'township_code',
     'measure': 'count(*) filter (where is_maternal_death)', 'name_zh': '孕产妇死亡数', 'name_en': 'maternal deaths'},
    {'code': 'child_health.records', 'department': 'health', 'model': 'stg_health__child_health_records', 'township': 'township_code',
     'name_zh': '7岁以下儿童健康管理记录数', 'name_en': 'child health register records'},
    {'code': 'cancer_screening.records', 'department': 'health', 'model': 'stg_health__cancer_screenings', 'township': 'township_code',
     'year': 'file_period_year',
     'name_zh': '妇女两癌筛查记录数', 'name_en': 'cancer screening records'},
    {'code': 'students.records', 'department': 'education', 'model': 'stg_education__students', 'township': 'township_code',
     'name_zh': '在校学生记录数', 'name_en': 'student records'},
    {'code': 'student_health.records', 'department': 'education', 'model': 'stg_education__student_health_surveys', 'township': 'township_code',
     'name_zh': '学生体质与视力监测记录数', 'name_en': 'student health survey records'},
    {'code': 'committee_members.records', 'department': 'civil_affairs', 'model': 'int_committee_members_classified',
     'township': 'township_code', 'committee': 'committee_code',
     'name_zh': '村（居）委会成员记录数', 'name_en': 'committee member records'},
    {'code': 'committee.members', 'department': 'civil_affairs', 'model': 'int_committee_members_classified',
     'township': 'township_code', 'committee': 'committee_code',
     'name_zh': '村（居）委会成员人数', 'name_en': 'committee members'},
    {'code': 'committee.committees', 'department': 'civil_affairs', 'model': 'int_committee_members_classified',
     'township': 'township_code', 'committee': 'committee_code', 'measure': 'count(distinct committee_code)',
     'name_zh': '村（居）委会个数', 'name_en': 'committees'},
    {'code': 'social_assistance.records', 'department': 'civil_affairs', 'model': 'stg_civil_affairs__social_assistance_recipients',
     'township': 'township_code', 'name_zh': '社会救助对象记录数', 'name_en': 'social assistance records'},
    {'code': 'cases.records', 'department': 'justice', 'model': 'stg_justice__case_victims', 'township': 'township_code',
     'name_zh': '案件受害人记录数', 'name_en': 'case victim records'},
    {'code': 'legal_aid.records', 'department': 'justice', 'model': 'stg_justice__legal_aid_recipients', 'township': 'township_code',
     'name_zh': '法律援助记录数', 'name_en': 'legal aid records'},
    {'code': 'forms.records', 'department': 'forms', 'model': 'stg_forms__form_values',
     'name_zh': '部门统计报表数值行数', 'name_en': 'rows of the department forms'},
]) }}
{% endmacro %}


{#- The forms' reporting departments (form_items.department) in Chinese, for the figures' names. -#}
{% macro form_department_name_zh(column) -%}
    case {{ column }}
        when 'statistics' then '统计局'
        when 'human_resources' then '人社局'
        when 'organization' then '组织部'
        when 'agriculture' then '农业农村局'
        when 'civil_affairs' then '民政局'
        when 'education' then '教育局'
        when 'health' then '卫健局'
        when 'justice' then '司法局'
        when 'women_federation' then '妇联'
        else {{ column }}
    end
{%- endmacro %}


{#- A number as a clerk reads it: whole numbers without decimals, others to two decimals. -#}
{% macro validation_number_text(expr, missing='（无数据）') -%}
    case
        when {{ expr }} is null then '{{ missing }}'
        when {{ expr }} = round({{ expr }}) then cast(cast(round({{ expr }}) as bigint) as varchar)
        else cast(round({{ expr }}, 2) as varchar)
    end
{%- endmacro %}
