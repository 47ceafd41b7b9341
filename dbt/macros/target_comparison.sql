{#-
  目标比较 · the one definition of "meets the target", used by fct_target_attainment (the year's value) and
  fct_early_warnings (the projected value). Change what "met" means here and nowhere else.

  value        the value judged, compared at its published precision (`decimals`, seed unit_labels): a value
               printed as 83.3 against a target printed as 83.3 is met, as a reader of the table would judge it
  operator     the catalogue's target_operator
  target       the effective target in the indicator's unit (for increase / decrease: the previous comparable
               value, see fct_target_attainment; for pct_change_vs_baseline: baseline × (1 + change))
  tolerance    half-width of a band (≈, balanced) or the allowance below a full-coverage target (=)
  change       the catalogue's target_value for pct_change_vs_baseline (its sign says which way is good)
  unit         a percentage already at 100 cannot rise further: staying there keeps "逐步提高"
-#}
{% macro meets_target(value, operator, target, tolerance, change, decimals, unit) -%}
    case
        when ({{ value }}) is null or ({{ target }}) is null then null
        when ({{ operator }}) = '>=' then round({{ value }}, {{ decimals }}) >= round({{ target }}, {{ decimals }})
        when ({{ operator }}) = '>' then round({{ value }}, {{ decimals }}) > round({{ target }}, {{ decimals }})
        when ({{ operator }}) = '<=' then round({{ value }}, {{ decimals }}) <= round({{ target }}, {{ decimals }})
        when ({{ operator }}) = '<' then round({{ value }}, {{ decimals }}) < round({{ target }}, {{ decimals }})
        when ({{ operator }}) = '=' then
            round({{ value }}, {{ decimals }}) >= round(({{ target }}) - coalesce({{ tolerance }}, 0), {{ decimals }})
        when ({{ operator }}) in ('≈', 'balanced') then
            abs(round({{ value }}, {{ decimals }}) - round({{ target }}, {{ decimals }}))
                <= coalesce({{ tolerance }}, 0) + 1e-9
        when ({{ operator }}) = 'pct_change_vs_baseline' then
            case when ({{ change }}) < 0 then round({{ value }}, {{ decimals }}) <= round({{ target }}, {{ decimals }})
                 else round({{ value }}, {{ decimals }}) >= round({{ target }}, {{ decimals }}) end
        -- 逐步提高 / 持续下降: better than the previous comparable value; a rate at its floor (0) or a
        -- percentage at its ceiling (100) that stays there keeps the goal
        when ({{ operator }}) = 'increase' then
            round({{ value }}, {{ decimals }}) > round({{ target }}, {{ decimals }})
            or (({{ unit }}) = 'percent' and round({{ value }}, {{ decimals }}) >= 100 and round({{ target }}, {{ decimals }}) >= 100)
        when ({{ operator }}) = 'decrease' then
            round({{ value }}, {{ decimals }}) < round({{ target }}, {{ decimals }})
            or (round({{ value }}, {{ decimals }}) = 0 and round({{ target }}, {{ decimals }}) = 0)
    end
{%- endmacro %}

{#-
  Whether the 95 % confidence interval [lower, upper] of a value reaches the values that would meet the target:
  then a value that misses the target does not differ from it significantly (差异无统计学意义). Only for targets
  set as a level (>=, >, <=, <, =, bands, a change from the baseline); directional targets are judged on the
  year-on-year direction as the plan words them.
-#}
{% macro interval_reaches_target(lower, upper, operator, target, tolerance, change) -%}
    case
        when ({{ lower }}) is null or ({{ upper }}) is null or ({{ target }}) is null then false
        when ({{ operator }}) in ('>=', '>') then ({{ upper }}) >= ({{ target }})
        when ({{ operator }}) in ('<=', '<') then ({{ lower }}) <= ({{ target }})
        when ({{ operator }}) = '=' then ({{ upper }}) >= ({{ target }}) - coalesce({{ tolerance }}, 0)
        when ({{ operator }}) in ('≈', 'balanced') then
            ({{ upper }}) >= ({{ target }}) - coalesce({{ tolerance }}, 0)
            and ({{ lower }}) <= ({{ target }}) + coalesce({{ tolerance }}, 0)
        when ({{ operator }}) = 'pct_change_vs_baseline' then
            case when ({{ change }}) < 0 then ({{ lower }}) <= ({{ target }}) else ({{ upper }}) >= ({{ target }}) end
        else false
    end
{%- endmacro %}

{#- Which way is better for a target operator (NULL for bands: both ways can miss). -#}
{% macro higher_is_better(operator, change) -%}
    case
        when ({{ operator }}) in ('>=', '>', '=', 'increase') then true
        when ({{ operator }}) in ('<=', '<', 'decrease') then false
        when ({{ operator }}) = 'pct_change_vs_baseline' then ({{ change }}) > 0
    end
{%- endmacro %}
