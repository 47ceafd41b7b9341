-- 核查规则引用的数值都在核查数值目录中：左式至少匹配一个数值，右式（代入 * 后）存在。
-- Every validation rule names catalogued figures: its left side matches at least one figure and
-- its right side's figure (with the `*` put in) exists. A failing row names the rule to fix in
-- seeds/validation_rules.csv.
with rules as (
    select * from {{ ref('int_validation_rules_parsed') }} where is_well_formed
),

catalogue as (
    select figure_code from {{ ref('int_validation_figures_catalogued') }}
),

expanded as (
    select
        r.rule_code,
        c.figure_code as left_figure_code,
        case
            when r.right_figure is null then null
            when contains(r.right_figure, '*') then replace(r.right_figure, '*', regexp_extract(c.figure_code, r.left_pattern, 1))
            else r.right_figure
        end as right_figure_code
    from rules as r
    left join catalogue as c on regexp_full_match(c.figure_code, r.left_pattern)
)

select rule_code, left_figure_code, right_figure_code,
    case when left_figure_code is null then 'left side matches no figure' else 'right figure not catalogued' end as problem
from expanded as e
where e.left_figure_code is null
    or (e.right_figure_code is not null and e.right_figure_code not in (select figure_code from catalogue))
