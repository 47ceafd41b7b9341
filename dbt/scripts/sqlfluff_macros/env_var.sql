{#- For sqlfluff only (dbt/.sqlfluff load_macros_from_path): dbt's env_var, which sqlfluff's dbt builtins lack.
    Renders the default, so `cast({{ env_var('X', '4') }} as integer)` parses. dbt never reads this folder. -#}
{% macro env_var(name, default='') %}{{ default }}{% endmacro %}
