{#- The lineage columns every raw row carries, renamed for staging models.
    _period_year is the YYYY of the file name: health = statistical year (1 Oct Y-1 .. 30 Sep Y),
    education = school year starting in autumn Y, everything else = calendar year Y.
    Event records (a birth, a death, a screening: the contract's `event_date`) pass their event's date as
    `event_date`: their period_year is then the statistical year of the event (statistical_year), so a
    birth of 15 Aug 2023 sent late in births_2024 counts in 2023 and revises it; a missing date falls
    back to the file's year. The file's year stays as file_period_year, and is_late_reported marks an
    event of an earlier year than its file's. (An event after its file's period never gets here:
    ingestion quarantines it, rule future_date; dbt/tests/assert_event_periods_not_after_file_period.sql.)
    _invalid_fields: the contract field names blanked on the row at ingestion for a defect (the record
    still counts where the field is not needed: count_components `needs`). -#}
{% macro audit_columns(event_date=none, basis='mch_year') -%}
    {%- if event_date is none %}
    cast(_period_year as integer) as period_year,
    {%- else %}
    coalesce({{ statistical_year(event_date, basis) }}, cast(_period_year as integer)) as period_year,
    cast(_period_year as integer) as file_period_year,
    coalesce({{ statistical_year(event_date, basis) }} < cast(_period_year as integer), false) as is_late_reported,
    {%- endif %}
    cast(_load_id as varchar) as load_id,
    cast(_source_file as varchar) as source_file,
    cast(_source_sha256 as varchar) as source_sha256,
    cast(_row_number as bigint) as source_row_number,
    cast(coalesce(_invalid_fields, []) as varchar[]) as _invalid_fields
{%- endmacro %}
