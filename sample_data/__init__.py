"""Deterministic generator of realistic department extracts for the Shuangqing monitoring warehouse.

    python -m sample_data [--out DIR] [--seed N] [--years 2019-2024] [--scale X]
                                        [--clean] [--defect-rate R] [--manifest PATH] [--areas CSV]
                                        [--extracts births,deaths,...] [--sample] [--quiet]

It writes the files the data request templates ask for (shared/extract_templates.md,
contracts/extract_templates_v1.yaml), exactly as departments would send them:
`<out>/<department>/<extract>_<YYYY>.csv|.xlsx`, `education/grade_history.csv` and
`forms/<source_department>_<YYYY>`, plus `<out>/_generator/manifest.json` (ingestion skips
folders starting with `_`). The same seed and options give byte-identical files.

How the data are made (one module each)
    areas.py        townships of the areas CSV (9 街道 urban-dominant, 2 镇 and 1 乡 rural-dominant)
    demography.py   cohort-component projection 2000→: ~280,000 residents at scale 1, an ageing
                    Hunan pyramid, ~2,300–2,800 births a year declining, sex ratio at birth ~105–112
    persons.py      people as (township, residence, sex, cohort, index): birth date, GB 11643 ID
                    number (unique by construction), record numbers and persistent propensities are
                    hashes of that key, so one child is the same child in every file and year
    calibration.py  rate levels near the 2021–2025 plans' targets, township spread, yearly drift
    extracts/       one module per department, yielding typed chunks per township
    styles.py       per file: CSV or XLSX, UTF-8 / UTF-8 BOM / GB18030, Chinese or English headers,
                    words for yes/no and sex
    defects.py      the mistakes departments make, at known rows (below)
    sinks.py        chunked, reproducible CSV and XLSX writing
    manifest.py     the manifest (files, their styles and checksums, every defect)

Defects (not with --clean). Each row carries at most one defect, built to trip exactly one
ingestion rule. Rates are shares of a file's rows (multiplied by --defect-rate); the handling is
what the warehouse must do with the row; `rule` is the ingestion rule id expected to report it.
A quarantine kind in a column that is not row-critical (e.g. a blank or impossible birth weight,
an invalid residence) is handled `exclude_field` instead: the row is loaded with that field blanked;
the manifest gives each defect's own handling.

    kind                          handling    rate    rule
    duplicate_row                 quarantine  0.3 %   duplicate_row (row number of the second copy)
    id_bad_check_digit            exclude_field 0.3 % id_bad_checksum
    id_lowercase_x                normalise   0.2 %   id_lowercase_x (only IDs ending in X qualify)
    id_15_digit                   normalise   0.1 %   id_15_digit (people born 19xx)
    id_excel_mangled              exclude_field 0.1 % id_excel_mangled (e.g. 4.30502E+17)
    sex_contradicts_id            flag        0.2 %   sex_contradicts_id
    birth_date_contradicts_id     flag        0.2 %   birth_date_contradicts_id
    fullwidth_digits              normalise   0.1 %   fullwidth_characters (e.g. ２０２３-０５-０１)
    stray_spaces                  normalise   0.3 %   stray_spaces (around a township/committee code)
    date_format_variant           normalise   0.4 %   date_format_variant (YYYY/MM/DD, YYYYMMDD, YYYY年M月D日)
    excel_serial_date             normalise   0.2 %   excel_serial_date (e.g. 45047; a number cell in XLSX)
    impossible_date               quarantine  0.1 %   impossible_date (e.g. 2023-02-30)
    dates_out_of_order            quarantine  0.1 %   dates_out_of_order (death before birth, birth
                                                      before the mother's birth, ...)
    future_date                   quarantine  0.1 %   future_date (after the file's period end)
    unknown_township              quarantine  0.2 %   unknown_township (committee codes:
                                                      invalid_committee_code; forms: unknown_area)
    age_out_of_range              quarantine  0.3 %   out_of_range (population ages 101+)
    negative_count                quarantine  0.2 %   negative_value (population; forms 0.5 %)
    numerator_exceeds_denominator quarantine  0.5 %   numerator_exceeds_denominator (forms: an item
                                                      above its gen_base item in the same file)
    missing_required              quarantine  0.2 %   missing_required
    invalid_code                  quarantine  0.2 %   invalid_code (e.g. 学校类型 高职; residence
                                                      columns: invalid_residence)

Not generated here (left to tests): the same file sent twice under another name, missing or
renamed columns, empty or truncated files. `education/grade_history.csv` carries no defects: the
nine-year consolidation rate needs its exact counts.

Scale: everything is generated per township in chunks of at most ~250,000 people, vectorised
with numpy and polars; memory stays bounded (a few hundred MB) whatever --scale is. XLSX is only
used for files under 100,000 rows.
"""
