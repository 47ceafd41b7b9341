-- 状态维表 · the status vocabulary of attainment and warnings (seed status_labels), read by every output.
select
    cast(status as varchar) as status,
    cast(label_zh as varchar) as label_zh,
    cast(label_en as varchar) as label_en,
    cast(sort_order as integer) as sort_order,
    cast(colour as varchar) as colour,
    cast(is_warning as boolean) as is_warning,
    cast(description_zh as varchar) as description_zh,
    cast(evaluation_group as varchar) as evaluation_group,
    cast(evaluation_group_zh as varchar) as evaluation_group_zh
from {{ ref('status_labels') }}
