{#- The extracts departments send, as the completeness models see them (one entry per extract of the
    contracts, dagster_project/contracts/extract_templates_v1.yaml; add one here with a new extract):
      extract    the contract's name (= the raw table and dbt source table)
      model      its staging model (rows that passed the quality gate)
      township   SQL giving the township of a row, or none (the extract has no area)
      coverage   'township': every township is expected to appear in every period's file (population
                 counts residents of every township; every township has village/community committees),
                 so a township without rows is missing data; 'register': a district-wide register, where a
                 township may rightly have no event (no maternal death, no case) - the file, once received,
                 covers every township.
      name_zh / name_en  what the clerk and the report call it.
      year       the column giving the period a row was sent for (default period_year): event records
                 (births, deaths, screenings) count in the year of their event, but a feed is received for
                 the period of its file - a late report in next year's file does not make a year received.
    The forms are one file per reporting department; each form item (seed form_items) is a feed of its
    own, 'township' when the item is reported by township, else 'register' (one district figure). -#}
{% macro reporting_feeds() %}
{{ return([
    {'extract': 'population', 'model': 'stg_population__residents', 'township': 'township_code', 'coverage': 'township',
     'name_zh': '常住人口', 'name_en': 'resident population'},
    {'extract': 'births', 'model': 'stg_health__births', 'township': 'township_code', 'coverage': 'register',
     'year': 'file_period_year',
     'name_zh': '活产登记', 'name_en': 'birth register'},
    {'extract': 'deaths', 'model': 'stg_health__deaths', 'township': 'township_code', 'coverage': 'register',
     'year': 'file_period_year',
     'name_zh': '死亡登记', 'name_en': 'death register'},
    {'extract': 'child_health', 'model': 'stg_health__child_health_records', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '7岁以下儿童健康管理', 'name_en': 'child health register'},
    {'extract': 'cancer_screening', 'model': 'stg_health__cancer_screenings', 'township': 'township_code', 'coverage': 'register',
     'year': 'file_period_year',
     'name_zh': '两癌筛查', 'name_en': 'cancer screening'},
    {'extract': 'students', 'model': 'stg_education__students', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '在校学生', 'name_en': 'students'},
    {'extract': 'grade_history', 'model': 'stg_education__grade_histories', 'township': none, 'coverage': 'register',
     'name_zh': '历年分年级在校生数', 'name_en': 'enrolment by grade over the years'},
    {'extract': 'student_health', 'model': 'stg_education__student_health_surveys', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '学生体质健康与视力监测', 'name_en': 'student health survey'},
    {'extract': 'committee_members', 'model': 'stg_civil_affairs__committee_members', 'township': 'left(committee_code, 9)', 'coverage': 'township',
     'name_zh': '村（居）委会成员', 'name_en': 'committee members'},
    {'extract': 'social_assistance', 'model': 'stg_civil_affairs__social_assistance_recipients', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '社会救助对象', 'name_en': 'social assistance recipients'},
    {'extract': 'cases', 'model': 'stg_justice__case_victims', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '侵害妇女儿童案件', 'name_en': 'cases against women and children'},
    {'extract': 'legal_aid', 'model': 'stg_justice__legal_aid_recipients', 'township': 'township_code', 'coverage': 'register',
     'name_zh': '法律援助', 'name_en': 'legal aid'},
]) }}
{% endmacro %}
