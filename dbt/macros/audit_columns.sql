{#- The lineage columns every raw row carries, renamed for staging models.
    period_year is the YYYY of the file name: health = statistical year (1 Oct Y-1 .. 30 Sep Y),
    education = school year starting in autumn Y, everything else = calendar year Y. -#}
{% macro audit_columns() -%}
    cast(_period_year as integer) as period_year,
    cast(_load_id as varchar) as load_id,
    cast(_source_file as varchar) as source_file,
    cast(_source_sha256 as varchar) as source_sha256,
    cast(_row_number as bigint) as source_row_number
{%- endmacro %}
