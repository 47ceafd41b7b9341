-- 区划层级闭包 · every area paired with itself and each ancestor on the areas seed's parent_code chain.
-- The rollup sums components to each ancestor whose level is in var('rollup_levels').
with recursive chain (area_code, ancestor_code, depth) as (
    -- the CTE's column list names them
    select area_code, area_code, 0  -- noqa: AL08
    from {{ ref('areas') }}
    union all
    select chain.area_code, parent.parent_code, chain.depth + 1
    from chain
    inner join {{ ref('areas') }} as parent
        on parent.area_code = chain.ancestor_code
    where parent.parent_code is not null and chain.depth < 10
)
select
    chain.area_code,
    chain.ancestor_code,
    ancestor.level as ancestor_level,
    chain.depth
from chain
inner join {{ ref('areas') }} as ancestor
    on ancestor.area_code = chain.ancestor_code
