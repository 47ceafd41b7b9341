-- Every input the catalogue's `source` names is a feed the completeness models know (an extract of
-- reporting_feeds() or a form item of seed form_items). A misspelt source would otherwise make an
-- indicator look publishable whatever arrived.
select n.indicator_code, n.feed_code
from {{ ref('int_indicator_feeds_listed') }} as n
where n.feed_code not in (select feed_code from {{ ref('int_feed_periods_assessed') }})
