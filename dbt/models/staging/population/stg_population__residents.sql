-- 常住人口 · resident population at 31 December by township, residence, sex and single year of age
-- (aggregate counts; 100 = 100 and over). Rename and cast only.
select
    cast(township_code as varchar) as township_code,
    cast(residence as varchar) as residence,
    cast(sex as varchar) as sex,
    cast(age as integer) as age,
    cast(population as bigint) as population,
    {{ audit_columns() }}
from {{ gated_source('population', 'population') }}
