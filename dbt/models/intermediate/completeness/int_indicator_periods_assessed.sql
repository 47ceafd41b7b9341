-- 指标年度可否发布 · one row per catalogue indicator × expected period: can it be computed at all?
-- An indicator is publishable for a period only when every feed it depends on (int_indicator_feeds_listed)
-- is usable for that period; otherwise it is withheld, with the reasons (each missing feed and why),
-- rather than computed from half its inputs (births without the population, a numerator without its
-- denominator). Earlier periods are judged on their own feeds, so they keep their values.
-- An indicator whose catalogue source names no feed (only shipped code lists) is publishable every period.
with feeds as (
    select * from {{ ref('int_feed_periods_assessed') }}
),
years as (
    select distinct period_year from feeds
),
grid as (
    select cat.indicator_code, y.period_year
    from {{ ref('indicator_catalogue') }} as cat
    cross join years as y
),
needs as (
    select g.indicator_code, g.period_year, f.feed_code, f.feed_name_zh, f.feed_name_en, f.status, f.status_zh,
           f.status_en, f.is_usable
    from grid as g
    left join {{ ref('int_indicator_feeds_listed') }} as n on n.indicator_code = g.indicator_code
    left join feeds as f on f.feed_code = n.feed_code and f.period_year = g.period_year
)
select
    indicator_code,
    period_year,
    coalesce(bool_and(is_usable), true) as is_publishable,
    count(feed_code) as feeds_needed,
    count(*) filter (where not is_usable) as feeds_missing,
    string_agg(case when not is_usable then feed_name_zh || ' ' || period_year || '年度' || status_zh end, '；'
               order by feed_code) as withheld_reason_zh,
    string_agg(case when not is_usable then feed_name_en || ' ' || period_year || ': ' || status_en end, '; '
               order by feed_code) as withheld_reason_en,
    -- the most severe reason, for counting: a feed that failed the gate, was rejected, ... or not sent
    case
        when bool_or(status = 'gate_failed') then 'gate_failed'
        when bool_or(status = 'rejected') then 'rejected'
        when bool_or(status = 'no_usable_rows') then 'no_usable_rows'
        when bool_or(status = 'item_missing') then 'item_missing'
        when bool_or(status = 'not_received') then 'not_received'
    end as withheld_reason_code
from needs
group by indicator_code, period_year
