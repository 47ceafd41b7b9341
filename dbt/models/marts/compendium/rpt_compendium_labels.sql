-- 统计资料文字 · the compendium's labels (seed compendium_labels), and the sex labels of dim_sex, as the
-- writers read them: one place for every word of the compendium that is not an indicator's.
select
    cast(label_key as varchar) as label_key,
    cast(kind as varchar) as kind,
    cast(label_zh as varchar) as label_zh,
    cast(label_en as varchar) as label_en,
    cast(sort_order as integer) as sort_order
from {{ ref('compendium_labels') }}
union all
select
    cast('sex_' || sex_code as varchar), 'sex', cast(name_zh as varchar), cast(name_en as varchar), cast(sort_order as integer)
from {{ ref('dim_sex') }}
