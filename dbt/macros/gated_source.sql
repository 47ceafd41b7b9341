{#- A raw source with the rows of file periods that failed the quality gate's blocking rules left out
    (audit.gate_verdicts, written by the Great Expectations checks). Every staging model selects from
    this instead of source(): a blocking failure in births 2024 then withholds exactly the 2024 figures
    that use births (marts.fct_indicator_publication lists them), and nothing else. -#}
{% macro gated_source(source_name, table_name) -%}
(
    select src.*
    from {{ source(source_name, table_name) }} as src
    where not exists (
        select 1
        from {{ source('audit', 'gate_verdicts') }} as gate
        where gate.extract = '{{ table_name }}'
          and not gate.passed_blocking
          and gate.period_year is not distinct from src._period_year
    )
)
{%- endmacro %}
