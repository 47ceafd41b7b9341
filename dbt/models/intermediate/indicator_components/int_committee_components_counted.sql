-- 指标分量：村（居）委会 · female shares of village and community committee members, chairs and
-- Party branch secretaries (year end). Sex does not apply to a share: rows carry sex '_T'.
{%- set shares = committee_definitions()['shares'] %}

{{ count_components(ref('int_committee_members_classified'), shares, residence_column=none) }}
