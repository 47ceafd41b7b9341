-- 核查规则（解析）· the validation_rules seed with each side taken apart. A side is
--   number | [factor *] figure | [factor *] mean_previous(figure[, years]) | [factor *] modified_z(figure)
-- A `*` in the left figure matches any name part (`*.records`); the part it matched is put in for a `*`
-- of the right figure. `left_pattern` is the regular expression that finds the left figures (its first
-- group is the part a `*` matched). `is_well_formed` is false for a rule the evaluator cannot use; a
-- data test on it names the rule. Grain: one row per rule.
with rules as (
    select * from {{ ref('validation_rules') }}
),

patterns as (
    select
        '^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$' as number_pattern,
        '^\s*(?:(-?[0-9]+(?:\.[0-9]+)?)\s*\*\s*)?(?:(mean_previous|modified_z)\(\s*([a-z*][a-z0-9_*]*(?:\.[a-z*][a-z0-9_*]*)+)\s*(?:,\s*([0-9]+)\s*)?\)|([a-z*][a-z0-9_*]*(?:\.[a-z*][a-z0-9_*]*)+))\s*$' as term_pattern
),

parsed as (
    select
        r.rule_code,
        r.rule_group,
        lower(trim(r.importance)) as importance,
        trim(r.left_side) as left_side,
        trim(r.operator) as operator,
        trim(r.right_side) as right_side,
        r.tolerance,
        lower(trim(r.area_level)) as area_level,
        lower(trim(r.missing_value_strategy)) as missing_value_strategy,
        r.description_zh,
        r.description_en,
        {%- for side in ['left', 'right'] %}
        {%- set text = 'r.' ~ side ~ '_side' %}
        case when regexp_full_match({{ text }}, p.number_pattern)
            then cast(trim({{ text }}) as double) end as {{ side }}_constant,
        case when not regexp_full_match({{ text }}, p.number_pattern) and regexp_full_match({{ text }}, p.term_pattern)
            then coalesce(cast(nullif(regexp_extract({{ text }}, p.term_pattern, 1), '') as double), 1.0) end as {{ side }}_factor,
        case when not regexp_full_match({{ text }}, p.number_pattern) and regexp_full_match({{ text }}, p.term_pattern)
            then coalesce(nullif(regexp_extract({{ text }}, p.term_pattern, 2), ''), 'value') end as {{ side }}_function,
        case when not regexp_full_match({{ text }}, p.number_pattern) and regexp_full_match({{ text }}, p.term_pattern)
            then coalesce(nullif(regexp_extract({{ text }}, p.term_pattern, 3), ''), regexp_extract({{ text }}, p.term_pattern, 5)) end as {{ side }}_figure,
        case when not regexp_full_match({{ text }}, p.number_pattern) and regexp_full_match({{ text }}, p.term_pattern)
            then cast(nullif(regexp_extract({{ text }}, p.term_pattern, 4), '') as integer) end as {{ side }}_window,
        coalesce(regexp_full_match({{ text }}, p.number_pattern) or regexp_full_match({{ text }}, p.term_pattern), false) as {{ side }}_is_valid
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from rules as r
    cross join patterns as p
)

select
    *,
    -- one capturing group in every pattern: the part a `*` matched, or the whole name
    case when left_figure is not null then
        '^' || case when contains(left_figure, '*')
            then replace(replace(left_figure, '.', '\.'), '*', '([^.]+)')
            else '(' || replace(left_figure, '.', '\.') || ')'
        end || '$'
    end as left_pattern,
    coalesce(
        left_is_valid and right_is_valid
        and left_figure is not null                                   -- the left side names the figure(s) checked
        and (right_figure is null or not contains(right_figure, '*') or contains(left_figure, '*'))
        and operator in ('==', '!=', '<', '<=', '>', '>=', '~=')
        and (operator <> '~=' or tolerance >= 0)
        and importance in ('high', 'medium', 'low')
        and area_level in ('committee', 'township', 'county', 'all')
        and missing_value_strategy in ('skip_if_any_value_missing', 'skip_if_all_values_missing', 'never_skip')
        and coalesce(left_window, 1) >= 1 and coalesce(right_window, 1) >= 1,
        false) as is_well_formed
from parsed
