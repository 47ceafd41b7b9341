-- 公开单元格 · the cells every public output may show, and the small-cell threshold they are protected at.
-- One row per indicator × year × reported area × sex (女/男/合计) at the residence total and the indicator's
-- defining age group: the provincial submission's public table, for every year. This model is the disclosure
-- policy's data: which cells are public, which of their counts are protected, and the threshold (the setting
-- MONITOR_SMALL_CELL_THRESHOLD, default 4). The suppression itself (primary + secondary over the area
-- hierarchy × sex, dagster_project/exports/suppression.py) is computed from these rows once per run
-- (dagster_project/exports/disclosure.py) and read by every public output; no public output shows a cell
-- outside this set (other residences and age groups are in the internal editions only).
select
    cast(v.period_year as integer) as period_year,
    cast(v.indicator_code as varchar) as indicator_code,
    cast(v.age_group_code as varchar) as age_group_code,
    cast(v.area_code as varchar) as area_code,
    cast(v.area_level as varchar) as area_level,
    cast(a.parent_code as varchar) as parent_code,
    cast(a.level_order as integer) as area_level_order,
    cast(v.sex as varchar) as sex,
    cast(v.numerator as double) as numerator,
    cast(v.denominator as double) as denominator,
    cast(v.value as double) as value,
    cast(v.ci_lower as double) as ci_lower,
    cast(v.ci_upper as double) as ci_upper,
    cast(v.small_numbers_flag as boolean) as small_numbers_flag,
    cast(v.zero_denominator_flag as boolean) as zero_denominator_flag,
    -- counts are protected where the numerator (and denominator) are counts of persons or events: not for
    -- averages (years), derived measures (a GPI's numerator and denominator are rates) or other aggregations
    cast(i.aggregation = 'sum' and coalesce(i.derivation, '') = '' and i.unit <> 'years' as boolean) as protects_counts,
    -- a count indicator has no denominator; any other counted indicator's denominator is protected too
    -- (a reader derives it from a published rate and its numerator)
    cast(i.aggregation = 'sum' and coalesce(i.derivation, '') = '' and i.unit not in ('years', 'count') as boolean)
        as protects_denominator,
    cast(nullif(i.derivation, '') as varchar) as derivation,
    cast(i.computed_from as varchar) as computed_from,
    cast({{ env_var('MONITOR_SMALL_CELL_THRESHOLD', '4') }} as integer) as small_cell_threshold
from {{ ref('fct_indicator_values') }} as v
inner join {{ ref('dim_indicator') }} as i
    on i.indicator_code = v.indicator_code and i.age_group_code = v.age_group_code
inner join {{ ref('dim_area') }} as a
    on a.area_code = v.area_code and a.is_reported
where v.residence = '_T' and v.sex in ('1', '2', '_T')
