-- 指标维表 · the indicator catalogue as analysts read it, with what every output needs to say about an
-- indicator decided here once: the sex its target is assessed on, which way is better, the kind of target,
-- the target in a few characters (≥92%, 逐步提高 …), unit / plan / department labels, and the measure it is
-- the same as in the other plan (indicator_group_code).
with catalogue as (
    select *, row_number() over () as catalogue_order from {{ ref('indicator_catalogue') }}
),
departments as (
    -- the department that acts on an indicator: the one sending its numerator (the first source listed);
    -- for a department form, the department of the form item
    select
        c.indicator_code,
        coalesce(fi.department, split_part(trim(split_part(c.source, ';', 1)), ':', 1)) as department
    from catalogue as c
    left join {{ ref('form_items') }} as fi
        on split_part(trim(split_part(c.source, ';', 1)), ':', 1) = 'forms'
       and fi.item_code = split_part(trim(split_part(c.source, ';', 1)), ':', 2)
),
described as (
    select
        c.*,
        coalesce(c.target_sex, case when c.sex_scope = 'female_only' then '2' else '_T' end) as assessed_sex,
        {{ higher_is_better('c.target_operator', 'c.target_value') }} as higher_is_better,
        case
            when c.target_operator is null then null
            when c.target_reference_indicator is not null then 'reference'
            when c.target_operator in ('increase', 'decrease') then 'direction'
            when c.target_operator = 'pct_change_vs_baseline' then 'relative'
            when c.target_operator = '≈' and c.target_value is null then 'stable'
            when c.target_operator in ('≈', 'balanced') then 'band'
            else 'level'
        end as target_kind,
        u.label_zh as unit_label_zh,
        u.label_en as unit_label_en,
        u.decimals as unit_decimals,
        u.sdmx_unit_measure as unit_sdmx,
        coalesce(u.target_suffix_zh, '') as target_suffix_zh,
        coalesce(u.difference_unit_zh, '') as difference_unit_zh,
        p.label_zh as plan_label_zh,
        p.label_en as plan_label_en,
        p.sort_order as plan_order,
        d.department as responsible_department,
        coalesce(dl.label_zh, d.department) as responsible_department_zh,
        -- a copy of a measure of the other plan (computed_from without a derivation) is the same measure
        case when c.computed_from is not null and c.derivation is null then c.computed_from else c.indicator_code end
            as indicator_group_code
    from catalogue as c
    left join {{ ref('unit_labels') }} as u on u.unit = c.unit
    left join {{ ref('plan_labels') }} as p on p.plan = c.plan
    left join departments as d on d.indicator_code = c.indicator_code
    left join {{ ref('department_labels') }} as dl on dl.department = d.department
)
select
    cast(indicator_code as varchar) as indicator_code,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(plan as varchar) as plan,
    cast(domain_zh as varchar) as domain_zh,
    cast(domain_en as varchar) as domain_en,
    cast(unit as varchar) as unit,
    cast(factor as double) as factor,
    cast(numerator_zh as varchar) as numerator_zh,
    cast(denominator_zh as varchar) as denominator_zh,
    cast(source as varchar) as source,
    cast(period_basis as varchar) as period_basis,
    cast(sex_scope as varchar) as sex_scope,
    cast(person_based = 'Y' as boolean) as is_person_based,
    cast(age_group_code as varchar) as age_group_code,
    cast(aggregation as varchar) as aggregation,
    cast(ci_method as varchar) as ci_method,
    cast(computed_from as varchar) as computed_from,
    cast(derivation as varchar) as derivation,
    cast(target_operator as varchar) as target_operator,
    cast(target_value as double) as target_value,
    cast(target_tolerance as double) as target_tolerance,
    cast(target_sex as varchar) as target_sex,
    cast(target_reference_indicator as varchar) as target_reference_indicator,
    cast(target_year as integer) as target_year,
    cast(baseline_year as integer) as baseline_year,
    cast(baseline_value as double) as baseline_value,
    cast(plan_clause as varchar) as plan_clause,
    cast(target_text_zh as varchar) as target_text_zh,
    cast(notes as varchar) as notes,
    cast(target_operator is not null as boolean) as has_target,
    cast(assessed_sex as varchar) as assessed_sex,
    cast(higher_is_better as boolean) as higher_is_better,
    cast(target_kind as varchar) as target_kind,
    cast(case
        when target_operator is null then null
        when target_reference_indicator is not null then
            case target_operator when '>=' then '≥' when '>' then '>' when '<=' then '≤' when '<' then '<' else '' end
            || '参照指标'
        when target_operator in ('>=', '>', '<=', '<') then
            case target_operator when '>=' then '≥' when '>' then '>' when '<=' then '≤' else '<' end
            || printf('%g', target_value) || target_suffix_zh
        when target_operator = '=' then printf('%g', target_value) || target_suffix_zh
        when target_operator = '≈' and target_value is null then '保持稳定'
        when target_operator = '≈' then printf('%g', target_value) || target_suffix_zh || '左右'
        when target_operator = 'balanced' then printf('%g', target_value) || '±' || printf('%g', coalesce(target_tolerance, 0)) || '（均衡）'
        when target_operator = 'increase' then '逐步提高'
        when target_operator = 'decrease' then '持续下降'
        when target_operator = 'pct_change_vs_baseline' then
            '较' || coalesce(baseline_year, {{ var('default_baseline_year') }}) || '年'
            || case when target_value < 0 then '下降' else '提高' end || printf('%g', abs(target_value)) || '%'
    end as varchar) as target_short_zh,
    cast(unit_label_zh as varchar) as unit_label_zh,
    cast(unit_label_en as varchar) as unit_label_en,
    cast(unit_decimals as integer) as unit_decimals,
    cast(unit_sdmx as varchar) as unit_sdmx,
    cast(difference_unit_zh as varchar) as difference_unit_zh,
    cast(plan_label_zh as varchar) as plan_label_zh,
    cast(plan_label_en as varchar) as plan_label_en,
    cast(plan_order as integer) as plan_order,
    cast(catalogue_order as integer) as catalogue_order,
    cast(responsible_department as varchar) as responsible_department,
    cast(responsible_department_zh as varchar) as responsible_department_zh,
    cast(indicator_group_code as varchar) as indicator_group_code
from described
