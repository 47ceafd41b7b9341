-- 指标分量：村（居）委会 · female shares of village and community committee members, chairs and
-- Party branch secretaries (year end). Sex does not apply to a share: rows carry sex '_T'.
{%- set definitions = [
    {'code': 'w_dec_village_committee_female_share', 'filter': "committee_type = 'village'", 'needs': ['committee_type']},
    {'code': 'w_dec_village_chair_female_share', 'filter': "committee_type = 'village' and is_chair", 'needs': ['committee_type', 'role']},
    {'code': 'w_dec_village_party_secretary_female_share', 'filter': "committee_type = 'village' and is_party_secretary", 'needs': ['committee_type', 'party_secretary']},
    {'code': 'w_dec_community_committee_female_share', 'filter': "committee_type = 'community'", 'needs': ['committee_type']},
    {'code': 'w_dec_community_chair_female_share', 'filter': "committee_type = 'community' and is_chair", 'needs': ['committee_type', 'role']},
    {'code': 'w_dec_community_party_secretary_female_share', 'filter': "committee_type = 'community' and is_party_secretary", 'needs': ['committee_type', 'party_secretary']},
] %}
{%- set shares = [] %}
{%- for d in definitions %}{% do shares.append(dict(d, sex='total', numerator="sex = '2'", needs=d['needs'] + ['sex'])) %}{% endfor %}

{{ count_components(ref('int_committee_members_classified'), shares, residence_column=none) }}
