-- 指标解释 · what each catalogue indicator of the compendium means, generated from the catalogue and the
-- dimensions: its definition (numerator, denominator, scaling), unit, age group, sex scope, the departments and
-- inputs it comes from, the statistical period it counts in (health years 1 Oct–30 Sep, school years from the
-- autumn, calendar years: dim_period_basis), the plan's target, and the tables it appears in.
with indicators as (
    select * from {{ ref('dim_indicator') }}
),

tables as (
    select indicator_code, string_agg(table_no, '、' order by table_order) as table_nos, min(table_order) as first_table
    from {{ ref('rpt_compendium_tables') }}
    where indicator_code is not null
    group by indicator_code
),

tokens as (
    select indicator_code, trim(unnest(string_split(source, ';'))) as token from indicators where source is not null
),

sources as (
    -- '<department>:<extract>', 'population', 'forms:<item>' -> the department sending it and the input's name
    select
        t.indicator_code, t.token,
        case
            when t.token like 'forms:%' then fi.department
            when contains(t.token, ':') then split_part(t.token, ':', 1)
            else t.token
        end as department,
        coalesce(f.feed_name_zh, case when t.token like 'seeds:%' then '区划代码' end) as feed_name_zh
    from tokens as t
    left join {{ ref('form_items') }} as fi on t.token like 'forms:%' and fi.item_code = split_part(t.token, ':', 2)
    left join {{ ref('int_feeds_listed') }} as f
        on f.feed_code = case when t.token like 'forms:%' then t.token
                              when contains(t.token, ':') then split_part(t.token, ':', 2) else t.token end
    where t.token <> ''
),

source_text as (
    select indicator_code, string_agg(department_zh || '（' || feeds || '）', '；' order by department_zh, feeds) as source_zh
    from (
        select s.indicator_code, coalesce(dl.label_zh, s.department) as department_zh,
               string_agg(distinct s.feed_name_zh, '、' order by s.feed_name_zh) as feeds
        from sources as s
        left join {{ ref('department_labels') }} as dl on dl.department = s.department
        where s.department <> 'seeds'
        group by all
    )
    group by indicator_code
),

sex_scopes as (
    select label_key as sex_scope, label_zh from {{ ref('compendium_labels') }} where kind = 'sex_scope'
)

select
    cast(i.indicator_code as varchar) as indicator_code,
    cast(i.plan_label_zh as varchar) as plan_label_zh,
    cast(i.domain_zh as varchar) as domain_zh,
    cast(i.catalogue_order as integer) as catalogue_order,
    cast(t.table_nos as varchar) as table_nos,
    cast(i.name_zh as varchar) as name_zh,
    cast(i.name_en as varchar) as name_en,
    cast(i.unit_label_zh as varchar) as unit_label_zh,
    cast(case
        when i.derivation = 'gpi' then '性别均等指数：女性' || coalesce(b.name_zh, '相应指标') || '除以男性' || coalesce(b.name_zh, '相应指标') || '。'
        when i.denominator_zh is null then i.numerator_zh || '。'
        when i.unit = 'percent' then i.numerator_zh || '占' || i.denominator_zh || '的百分比。'
        else i.numerator_zh || '与' || i.denominator_zh || '之比，以' || i.unit_label_zh || '表示（×' || printf('%g', i.factor) || '）。'
    end as varchar) as definition_zh,
    cast(case when i.derivation = 'gpi' then '女性' || coalesce(b.name_zh, '') else i.numerator_zh end as varchar) as numerator_zh,
    cast(case when i.derivation = 'gpi' then '男性' || coalesce(b.name_zh, '') else i.denominator_zh end as varchar) as denominator_zh,
    cast(g.name_zh as varchar) as age_group_zh,
    cast(ss.label_zh as varchar) as sex_scope_zh,
    cast(coalesce(st.source_zh, i.responsible_department_zh) as varchar) as source_zh,
    cast(i.responsible_department_zh as varchar) as responsible_department_zh,
    cast(pb.name_zh as varchar) as period_basis_zh,
    cast(pb.description_zh as varchar) as period_description_zh,
    cast(i.target_text_zh as varchar) as target_text_zh,
    cast(i.plan_clause as varchar) as plan_clause,
    cast(i.notes as varchar) as notes_en
from indicators as i
left join indicators as b on b.indicator_code = i.computed_from
left join tables as t on t.indicator_code = i.indicator_code
left join source_text as st on st.indicator_code = i.indicator_code
left join {{ ref('dim_age_group') }} as g on g.age_group_code = i.age_group_code
left join sex_scopes as ss on ss.sex_scope = i.sex_scope
left join {{ ref('dim_period_basis') }} as pb on pb.period_basis = i.period_basis
