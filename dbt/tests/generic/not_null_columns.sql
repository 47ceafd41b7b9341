{#
  not_null_columns: every listed column of the model is filled.

  One test (one scan of the model) instead of one `not_null` test per column: the project has about
  270 such columns, and each dbt test costs some 20 ms of dbt's own work whatever the data (on the
  sample it was 5 s of every run). A failure returns one row per column with empty values and how
  many rows lack it, so the result names the column (`dbt test --store-failures`).

  Mart columns that carry an enforced `not_null` constraint are not listed: the contract already
  refuses to build such a table, so a test could never fail.
#}
{% test not_null_columns(model, column_names) %}
with null_rows as (
    select
    {%- for column in column_names %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
select column_name, rows_without_value
from (unpivot null_rows on columns(*) into name column_name value rows_without_value)
where rows_without_value > 0
{% endtest %}
