-- An event record's statistical year (its date's) is never after its file's year: ingestion quarantines
-- a date after the file's period end (rule future_date), so only on-time and late reports reach staging.
-- If that rule is ever relaxed, events after their file's period (misfiled, or the file named a year too
-- early) would silently move forward a year: this test stops the build instead, to decide what they mean.
{%- set models = ['stg_health__births', 'stg_health__deaths', 'stg_health__cancer_screenings'] %}
{%- for m in models %}
select '{{ m }}' as model, source_file, source_row_number, period_year, file_period_year
from {{ ref(m) }}
where period_year > file_period_year
{% if not loop.last %}union all{% endif %}
{%- endfor %}
