-- 核查发现 · every validation rule check that failed (seeds/validation_rules.csv, evaluated in
-- int_validation_rules_evaluated), with the area's name, the values on each side and a sentence a
-- clerk can act on. Read by the annual report and the departments' feedback workbooks (核查发现 sheet).
-- Grain: one row per rule × left figure × period year × area.
with findings as (
    select * from {{ ref('int_validation_rules_evaluated') }}
    where is_evaluated and not passed
),

catalogue as (
    select * from {{ ref('int_validation_figures_catalogued') }}
),

areas as (
    select * from {{ ref('areas') }}
),

named as (
    select
        f.*,
        lc.figure_name_zh as left_figure_name_zh,
        lc.figure_name_en as left_figure_name_en,
        rc.figure_name_zh as right_figure_name_zh,
        rc.figure_name_en as right_figure_name_en,
        case f.area_level
            when 'committee' then coalesce(t.name_zh, left(f.area_code, 9)) || ' 村（居）委会 ' || f.area_code
            else coalesce(a.name_zh, f.area_code)
        end as area_name_zh,
        case f.area_level
            when 'committee' then coalesce(t.name_en, left(f.area_code, 9)) || ' committee ' || f.area_code
            else coalesce(a.name_en, f.area_code)
        end as area_name_en
    from findings as f
    left join catalogue as lc on lc.figure_code = f.left_figure_code
    left join catalogue as rc on rc.figure_code = f.right_figure_code
    left join areas as a on a.area_code = f.area_code
    left join areas as t on t.area_code = left(f.area_code, 9)
),

texts as (
    select
        *,
        {%- for side in ['left', 'right'] %}
        {%- set lang_names = [('zh', '×', '前', '年平均值', '以往各年平均值', '的修正z分数'), ('en', ' × ', 'mean of the previous ', ' years of ', 'mean of the previous years of ', 'modified z-score of ')] %}
        {%- for lang, times, prev_a, prev_b, prev_all, zscore in lang_names %}
        {%- set name = side ~ '_figure_name_' ~ lang %}
        case
            when {{ side }}_figure_code is null then {{ validation_number_text(side ~ '_value') }}
            else
                case when {{ side }}_factor <> 1 then {{ validation_number_text(side ~ '_factor') }} || '{{ times }}' else '' end
                {%- if lang == 'zh' %}
                || {{ name }}
                || case {{ side }}_function
                    when 'mean_previous' then
                        case when {{ side }}_window is null then '{{ prev_all }}'
                             else '{{ prev_a }}' || {{ side }}_window || '{{ prev_b }}' end
                    when 'modified_z' then '{{ zscore }}'
                    else ''
                end
                {%- else %}
                || case {{ side }}_function
                    when 'mean_previous' then
                        case when {{ side }}_window is null then '{{ prev_all }}'
                             else '{{ prev_a }}' || {{ side }}_window || '{{ prev_b }}' end
                    when 'modified_z' then '{{ zscore }}'
                    else ''
                end
                || {{ name }}
                {%- endif %}
        end as {{ side }}_text_{{ lang }}
        {%- if not (loop.last and side == 'right') %},{% endif %}
        {%- endfor %}
        {%- endfor %}
    from named
)

select
    rule_code || '|' || left_figure_code || '|' || period_year || '|' || area_code as finding_id,
    rule_code,
    rule_group,
    importance,
    period_year,
    area_level,
    area_code,
    area_name_zh,
    left_side,
    left_figure_code,
    left_figure_name_zh,
    left_figure_value,
    left_value,
    operator,
    right_side,
    right_figure_code,
    right_value,
    tolerance,
    case
        when right_department is null or right_department = left_department then left_department
        else left_department || ',' || right_department
    end as departments,
    description_zh,
    description_en,
    period_year || '年 ' || area_name_zh || '：'
        || left_text_zh || ' = ' || {{ validation_number_text('left_value') }}
        || case when left_function <> 'value' then '（当年数值 ' || {{ validation_number_text('left_figure_value') }} || '）' else '' end
        || case when right_figure_code is not null
            then '，' || right_text_zh || ' = ' || {{ validation_number_text('right_value') }} else '' end
        || '；要求'
        || case operator
            when '~=' then left_text_zh || '与' || right_text_zh || '相差不超过 ' || {{ validation_number_text('100 * tolerance') }} || '%'
                || case when coalesce(right_value, 0) <> 0
                    then '（实际相差 ' || {{ validation_number_text('round(100 * abs(coalesce(left_value, 0) - right_value) / abs(right_value), 1)') }} || '%）'
                    else '' end
            else left_text_zh
                || case operator when '==' then ' 等于 ' when '!=' then ' 不等于 ' when '<' then ' 小于 '
                    when '<=' then ' 不大于 ' when '>' then ' 大于 ' when '>=' then ' 不小于 ' end
                || right_text_zh
        end || '。' as message_zh,
    period_year || ' ' || area_name_en || ': '
        || left_text_en || ' = ' || {{ validation_number_text('left_value', 'no data') }}
        || case when right_figure_code is not null
            then ', ' || right_text_en || ' = ' || {{ validation_number_text('right_value', 'no data') }} else '' end
        || '; rule: ' || regexp_replace(left_side, '[a-z*][a-z0-9_*]*(\.[a-z*][a-z0-9_*]*)+', left_figure_code)
        || ' ' || operator || ' '
        || case when right_figure_code is null then right_side
            else regexp_replace(right_side, '[a-z*][a-z0-9_*]*(\.[a-z*][a-z0-9_*]*)+', right_figure_code) end
        || case when operator = '~=' then ' (tolerance ' || {{ validation_number_text('100 * tolerance') }} || ' %)' else '' end
        || '.' as message_en
    -- no evaluation timestamp: marts must be identical when rebuilt from the same files
from texts
