{#- 95 % confidence limits. All return a proportion / count scale; callers multiply by the factor. -#}

{% macro z95() -%} 1.959963984540054 {%- endmacro %}

{#- Wilson score interval for x events out of n (0 <= x <= n, n > 0). -#}
{% macro wilson_lower(x, n) -%}
    (( ({{ x }}) / ({{ n }}) + {{ z95() }}^2 / (2 * ({{ n }}))
       - {{ z95() }} * sqrt( ({{ x }}) / ({{ n }}) * (1 - ({{ x }}) / ({{ n }})) / ({{ n }}) + {{ z95() }}^2 / (4 * ({{ n }})^2) ) )
     / (1 + {{ z95() }}^2 / ({{ n }})))
{%- endmacro %}

{% macro wilson_upper(x, n) -%}
    (( ({{ x }}) / ({{ n }}) + {{ z95() }}^2 / (2 * ({{ n }}))
       + {{ z95() }} * sqrt( ({{ x }}) / ({{ n }}) * (1 - ({{ x }}) / ({{ n }})) / ({{ n }}) + {{ z95() }}^2 / (4 * ({{ n }})^2) ) )
     / (1 + {{ z95() }}^2 / ({{ n }})))
{%- endmacro %}

{#- Byar's approximation to the exact Poisson limits of a count k (used above the seed's 200). -#}
{% macro byar_lower(k) -%}
    case when ({{ k }}) = 0 then 0.0
         else ({{ k }}) * power(1 - 1 / (9 * ({{ k }})) - {{ z95() }} / (3 * sqrt({{ k }})), 3) end
{%- endmacro %}

{% macro byar_upper(k) -%}
    (({{ k }}) + 1) * power(1 - 1 / (9 * (({{ k }}) + 1)) + {{ z95() }} / (3 * sqrt(({{ k }}) + 1)), 3)
{%- endmacro %}
