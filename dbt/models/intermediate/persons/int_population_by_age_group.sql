-- 分年龄组常住人口 · resident population by township, residence, sex and age group.
-- Single years of age are mapped to every group of the age_groups crosswalk that contains them,
-- so a new grouping is one seed row, not a code change.
select
    p.period_year,
    p.township_code,
    p.residence,
    p.sex,
    g.age_group_code,
    sum(p.population) as population
from {{ ref('stg_population__residents') }} as p
inner join {{ ref('age_groups') }} as g
    on p.age between g.age_from and g.age_to
group by all
