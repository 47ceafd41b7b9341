-- 预警清单（报告与导出用）· the warning list as the report and the department feedback print it: one row per measure
-- (a measure both plans share is one row, both clauses listed) × area × as-of year, for rows on the warning list of
-- fct_early_warnings, with who should act (the department sending the data), the gap to the target in the
-- indicator's unit, the yearly change needed to reach it by the target year, and the reason in words.
with warnings as (
    select
        w.*,
        i.indicator_group_code, i.name_zh, i.name_en, i.domain_zh, i.plan, i.plan_order, i.catalogue_order,
        i.unit_label_zh, i.unit_decimals, i.difference_unit_zh, i.target_short_zh, i.target_kind,
        i.responsible_department, i.responsible_department_zh, i.plan_clause, i.plan_label_zh
    from {{ ref('fct_early_warnings') }} as w
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = w.indicator_code
    where w.is_warning
),
groups as (
    -- every indicator of the measure, with its plan and clause
    select
        indicator_group_code,
        string_agg(indicator_code, ', ' order by plan_order) as indicator_codes,
        string_agg(concat_ws('·', plan_label_zh, plan_clause), '；' order by plan_order) as plan_clauses_zh
    from {{ ref('dim_indicator') }}
    group by indicator_group_code
),
one_per_measure as (
    select *
    from warnings
    qualify row_number() over (
        partition by indicator_group_code, area_code, as_of_year
        order by indicator_code = indicator_group_code desc, plan_order) = 1
),
measured as (
    select
        w.*,
        g.indicator_codes,
        g.plan_clauses_zh,
        a.name_zh as area_name_zh,
        coalesce(w.assessed_value, w.value) as judged_value,
        -- shortfall in the indicator's unit, positive when the target is not reached
        case
            when w.effective_target is null or coalesce(w.assessed_value, w.value) is null then null
            when w.higher_is_better then w.effective_target - coalesce(w.assessed_value, w.value)
            when not w.higher_is_better then coalesce(w.assessed_value, w.value) - w.effective_target
        end as shortfall,
        w.target_year - w.as_of_year as years_left
    from one_per_measure as w
    inner join groups as g on g.indicator_group_code = w.indicator_group_code
    left join {{ ref('dim_area') }} as a on a.area_code = w.area_code
),
worded as (
    select
        *,
        case when shortfall > 0 and years_left > 0 and target_kind not in ('direction')
             then shortfall / years_left end as yearly_change_needed,
        case when higher_is_better then '提高' else '降低' end as better_verb
    from measured
)
select
    cast(as_of_year as integer) as as_of_year,
    cast(area_code as varchar) as area_code,
    cast(area_name_zh as varchar) as area_name_zh,
    cast(area_level as varchar) as area_level,
    cast(indicator_group_code as varchar) as indicator_code,
    cast(indicator_codes as varchar) as indicator_codes,
    cast(name_zh as varchar) as name_zh,
    cast(name_en as varchar) as name_en,
    cast(domain_zh as varchar) as domain_zh,
    cast(plan_clauses_zh as varchar) as plan_clauses_zh,
    cast(responsible_department as varchar) as responsible_department,
    cast(responsible_department_zh as varchar) as responsible_department_zh,
    cast(unit as varchar) as unit,
    cast(unit_label_zh as varchar) as unit_label_zh,
    cast(unit_decimals as integer) as unit_decimals,
    cast(value as double) as value,
    cast(judged_value as double) as judged_value,
    cast(assessment_basis as varchar) as assessment_basis,
    cast(effective_target as double) as effective_target,
    cast(target_short_zh as varchar) as target_short_zh,
    cast(round(shortfall, 6) as double) as shortfall,
    cast(years_left as integer) as years_left,
    cast(round(yearly_change_needed, 6) as double) as yearly_change_needed,
    cast(projected_value as double) as projected_value,
    cast(projected_lower as double) as projected_lower,
    cast(projected_upper as double) as projected_upper,
    cast(status as varchar) as status,
    cast(status_zh as varchar) as status_zh,
    cast(projected_to_miss as boolean) as projected_to_miss,
    cast(volatility_flag as boolean) as volatility_flag,
    cast(concat_ws('；',
        as_of_year || '年' || case when assessment_basis = 'pooled'
            then '（' || pooled_first_year || '—' || pooled_last_year || '年合并）' else '' end
            || '为' || {{ number_text('judged_value', 'unit_decimals') }}
            || case when unit in ('ratio', 'count', 'index') then '' else coalesce(unit_label_zh, '') end
            || '，目标' || target_short_zh
            || case when shortfall > 0 and target_kind = 'direction'
                    then '，较上一年度' || case when higher_is_better then '下降' else '上升' end
                         || {{ number_text('shortfall', 'unit_decimals') }} || difference_unit_zh
                    when shortfall > 0 then '，尚差' || {{ number_text('shortfall', 'unit_decimals') }} || difference_unit_zh
                    else '' end,
        case
            when status = 'missed' then target_year || '年未达标'
            when status = 'at_risk' and projected_value is not null then
                '按' || trend_first_year || '—' || as_of_year || '年趋势预计' || target_year || '年为'
                || {{ number_text('projected_value', 'unit_decimals') }} || '（95%预测区间'
                || coalesce({{ number_text('projected_lower', 'unit_decimals') }}, '—') || '—'
                || coalesce({{ number_text('projected_upper', 'unit_decimals') }}, '—') || '），难以达标'
            when status = 'at_risk' and assessment_basis = 'pooled' then '小数字指标按合并率判断，未作趋势预测'
            when status = 'at_risk' then '有值年份不足，未作趋势预测'
        end,
        case when yearly_change_needed is not null then
            '须每年' || better_verb || {{ number_text('yearly_change_needed', 'unit_decimals') }} || difference_unit_zh
            || '方能于' || target_year || '年达标' end,
        case when status = 'at_risk' and target_kind = 'direction' then '须扭转为逐年' || better_verb end,
        case when projected_to_miss then
            '当前已达标，但' || trend_first_year || '—' || as_of_year || '年' || case when trend_slope < 0 then '下降' else '上升' end
            || '显著（每年' || {{ number_text('abs(trend_slope)', 'unit_decimals') }} || difference_unit_zh || '），预计'
            || target_year || '年为' || {{ number_text('projected_value', 'unit_decimals') }} || '，将不达标' end,
        case when volatility_flag then
            '波动较大（较上年' || coalesce(printf('%+.1f%%', yoy_change_pct), '—') || '），请' || responsible_department_zh || '核实数据' end
    ) as varchar) as reason_zh,
    cast(plan_order as integer) as plan_order,
    cast(catalogue_order as integer) as catalogue_order
from worded
