-- 指标所依赖的报送数据 · one row per indicator × feed it is computed from, read from the catalogue's
-- `source` ('health:births; population', 'forms:rural_households_tap_water; forms:rural_households'):
-- '<department>:<extract>' -> the extract, 'population' -> the population extract, 'forms:<item>' -> that
-- form item; 'seeds:…' (code lists shipped with the warehouse) is always there and adds no feed.
with tokens as (
    select indicator_code, trim(unnest(string_split(source, ';'))) as token
    from {{ ref('indicator_catalogue') }}
    where source is not null
)
select distinct
    indicator_code,
    case
        when token like 'forms:%' then token
        when contains(token, ':') then split_part(token, ':', 2)
        else token
    end as feed_code
from tokens
where token <> '' and token not like 'seeds:%'
