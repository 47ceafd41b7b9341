-- 指标发布情况 · one row per catalogue indicator × expected period × reporting area above the township:
-- published, published on incomplete coverage, or withheld - and why. This is where a partial
-- submission shows: a department not yet reported, a file rejected whole or failing the quality gate
-- withholds exactly the indicators and periods that depend on it (int_indicator_periods_assessed); a
-- township missing from a township-level feed leaves it out of both numerator and denominator, and the
-- area's value is flagged with its coverage, or withheld below the seed coverage_rules' share.
with periods as (
    select * from {{ ref('int_indicator_periods_assessed') }}
),
areas as (
    select distinct anc.ancestor_code as area_code, anc.ancestor_level as area_level
    from {{ ref('int_area_ancestors_resolved') }} as anc
    where anc.ancestor_level in ({% for level in var('rollup_levels') %}'{{ level }}'{% if not loop.last %}, {% endif %}{% endfor %})
      and anc.ancestor_level <> 'township'
),
coverage as (
    select * from {{ ref('int_indicator_area_coverage') }}
),
judged as (
    select
        p.indicator_code,
        p.period_year,
        a.area_code,
        a.area_level,
        p.is_publishable,
        p.withheld_reason_code,
        p.withheld_reason_zh,
        p.withheld_reason_en,
        c.townships_expected,
        c.townships_covered,
        c.townships_missing,
        coalesce(rule.min_coverage_share_to_publish, 1) as min_share,
        coalesce(rule.judge_target_when_incomplete, false) as judge_when_incomplete
    from periods as p
    cross join areas as a
    left join coverage as c
        on c.indicator_code = p.indicator_code and c.period_year = p.period_year and c.area_code = a.area_code
    left join {{ ref('coverage_rules') }} as rule on rule.area_level = a.area_level
),
classified as (
    select
        *,
        case
            when not is_publishable then 'withheld'
            when townships_covered < min_share * townships_expected then 'withheld'
            when townships_covered < townships_expected then 'published_incomplete'
            else 'published'
        end as publication_status,
        case
            when not is_publishable then withheld_reason_code
            when townships_covered < min_share * townships_expected then 'low_coverage'
            when townships_covered < townships_expected then 'incomplete_coverage'
        end as reason_code
    from judged
)
select
    cast(indicator_code as varchar) as indicator_code,
    cast(period_year as integer) as period_year,
    cast(area_code as varchar) as area_code,
    cast(area_level as varchar) as area_level,
    cast(publication_status as varchar) as publication_status,
    cast(case publication_status
        when 'withheld' then '扣发'
        when 'published_incomplete' then '已发布（覆盖不全）'
        else '已发布' end as varchar) as publication_status_zh,
    cast(reason_code as varchar) as reason_code,
    cast(case
        when reason_code in ('low_coverage', 'incomplete_coverage') then
            '只有 ' || townships_covered || '/' || townships_expected || ' 个乡镇街道的所需数据齐全（缺 ' || townships_missing || '）'
            || case when reason_code = 'low_coverage' then '，不足规定比例，扣发' else '，数值只覆盖这些乡镇街道' end
        else withheld_reason_zh end as varchar) as reason_zh,
    cast(case
        when reason_code in ('low_coverage', 'incomplete_coverage') then
            'data complete for ' || townships_covered || ' of ' || townships_expected || ' townships (missing ' || townships_missing || ')'
            || case when reason_code = 'low_coverage' then ', below the required share: withheld' else ': the value covers these only' end
        else withheld_reason_en end as varchar) as reason_en,
    cast(townships_expected as integer) as townships_expected,
    cast(townships_covered as integer) as townships_covered,
    cast(case when townships_covered < townships_expected
              then townships_covered || '/' || townships_expected || ' 个乡镇街道' end as varchar) as coverage_zh,
    cast(publication_status = 'published' or (publication_status = 'published_incomplete' and judge_when_incomplete)
         as boolean) as is_target_judged
from classified
