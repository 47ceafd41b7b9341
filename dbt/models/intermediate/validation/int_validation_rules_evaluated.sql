-- 核查规则（逐项计算）· every well-formed validation rule checked for every expected year and area.
-- A rule's left figure pattern is expanded to the catalogued figures it matches (`*.records`: one check
-- per extract), each side is computed on the completed figure cells (value, mean of the previous years,
-- or modified z-score), missing values are handled as the rule's missing_value_strategy says (DHIS2),
-- and `passed` tells whether `left operator right` holds (NULL when the check was skipped).
-- `~=` holds when |left − right| ≤ tolerance × |right|.
-- Grain: one row per rule × left figure × period year × area level × area.
with rules as (
    select * from {{ ref('int_validation_rules_parsed') }} where is_well_formed
),

catalogue as (
    select * from {{ ref('int_validation_figures_catalogued') }}
),

cells as (
    select * from {{ ref('int_validation_figures_completed') }}
),

expanded as (
    select
        r.*,
        c.figure_code as left_figure_code,
        c.department as left_department,
        case
            when r.right_figure is null then null
            when contains(r.right_figure, '*')
                then replace(r.right_figure, '*', regexp_extract(c.figure_code, r.left_pattern, 1))
            else r.right_figure
        end as right_figure_code
    from rules as r
    inner join catalogue as c on regexp_full_match(c.figure_code, r.left_pattern)
),

-- a right figure that is not catalogued makes the rule inapplicable (a data test names such rules)
bound as (
    select e.*, rc.department as right_department
    from expanded as e
    left join catalogue as rc on rc.figure_code = e.right_figure_code
    where e.right_figure_code is null or rc.figure_code is not null
),

requests as (
    select distinct left_figure_code as figure_code, left_function as function_name, left_window as window_years
    from bound
    union
    select distinct right_figure_code, right_function, right_window
    from bound
    where right_figure_code is not null
),

previous_means as (
    select
        q.figure_code,
        q.window_years,
        c.period_year,
        c.area_level,
        c.area_code,
        avg(h.value) as mean_previous
    from requests as q
    inner join cells as c on c.figure_code = q.figure_code
    left join cells as h
        on h.figure_code = c.figure_code
        and h.area_level = c.area_level
        and h.area_code = c.area_code
        and h.period_year < c.period_year
        and h.period_year >= c.period_year - coalesce(q.window_years, 10000)
    where q.function_name = 'mean_previous'
    group by q.figure_code, q.window_years, c.period_year, c.area_level, c.area_code
),

side_values as (
    select
        q.figure_code,
        q.function_name,
        q.window_years,
        c.period_year,
        c.area_level,
        c.area_code,
        c.value as figure_value,
        case q.function_name
            when 'value' then c.value
            when 'modified_z' then c.modified_z_score
            when 'mean_previous' then m.mean_previous
        end as side_value
    from requests as q
    inner join cells as c on c.figure_code = q.figure_code
    -- previous_means has rows only for mean_previous requests, one per key, so the join cannot duplicate
    -- rows; the CASE above reads it only for them. (A condition on q alone in this ON clause made
    -- DuckDB fall back to a nested-loop join: 150 s instead of 0.1 s with 1,925 townships.)
    left join previous_means as m
        on m.figure_code = q.figure_code
        and m.window_years is not distinct from q.window_years
        and m.period_year = c.period_year
        and m.area_level = c.area_level
        and m.area_code = c.area_code
),

paired as (
    select
        b.rule_code,
        b.rule_group,
        b.importance,
        b.left_side,
        b.operator,
        b.right_side,
        b.tolerance,
        b.area_level as rule_area_level,
        b.missing_value_strategy,
        b.description_zh,
        b.description_en,
        b.left_figure_code,
        b.left_function,
        b.left_window,
        b.left_factor,
        b.left_department,
        b.right_figure_code,
        b.right_function,
        b.right_window,
        b.right_factor,
        b.right_constant,
        b.right_department,
        l.period_year,
        l.area_level,
        l.area_code,
        l.figure_value as left_figure_value,
        b.left_factor * l.side_value as left_value,
        coalesce(b.right_constant, b.right_factor * r.side_value) as right_value,
        b.right_figure_code is not null and r.figure_code is null as is_right_not_applicable
    from bound as b
    inner join side_values as l
        on l.figure_code = b.left_figure_code
        and l.function_name = b.left_function
        and l.window_years is not distinct from b.left_window
    left join side_values as r
        on r.figure_code = b.right_figure_code
        and r.function_name = b.right_function
        and r.window_years is not distinct from b.right_window
        and r.period_year = l.period_year
        and r.area_level = l.area_level
        and r.area_code = l.area_code
    where b.area_level = 'all' or l.area_level = b.area_level
),

decided as (
    select
        *,
        left_value is null as is_left_missing,
        right_figure_code is not null and right_value is null as is_right_missing
    from paired
    -- the right figure does not exist at this area level (e.g. a county-only figure): nothing to compare
    where not is_right_not_applicable
),

evaluated as (
    select
        *,
        case missing_value_strategy
            when 'skip_if_any_value_missing' then not (is_left_missing or is_right_missing)
            when 'skip_if_all_values_missing' then not (is_left_missing and (is_right_missing or right_figure_code is null))
            else true
        end as is_evaluated
    from decided
)

select
    rule_code,
    rule_group,
    importance,
    left_side,
    operator,
    right_side,
    tolerance,
    rule_area_level,
    missing_value_strategy,
    description_zh,
    description_en,
    left_figure_code,
    left_function,
    left_window,
    left_factor,
    left_department,
    right_figure_code,
    right_function,
    right_window,
    right_factor,
    right_constant,
    right_department,
    period_year,
    area_level,
    area_code,
    left_figure_value,
    left_value,
    right_value,
    is_left_missing,
    is_right_missing,
    is_evaluated,
    case when is_evaluated then
        case operator
            when '==' then abs(coalesce(left_value, 0) - coalesce(right_value, 0)) <= 1e-9
            when '!=' then abs(coalesce(left_value, 0) - coalesce(right_value, 0)) > 1e-9
            when '<' then coalesce(left_value, 0) < coalesce(right_value, 0)
            when '<=' then coalesce(left_value, 0) <= coalesce(right_value, 0) + 1e-9
            when '>' then coalesce(left_value, 0) > coalesce(right_value, 0)
            when '>=' then coalesce(left_value, 0) + 1e-9 >= coalesce(right_value, 0)
            when '~=' then abs(coalesce(left_value, 0) - coalesce(right_value, 0))
                <= tolerance * abs(coalesce(right_value, 0)) + 1e-9
        end
    end as passed
from evaluated
