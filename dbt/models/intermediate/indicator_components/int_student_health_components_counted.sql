-- 指标分量：学生体质与视力 · components from the student fitness and vision survey (school year).
{%- set definitions = [
    {'code': 'c_hlt_myopia_primary', 'filter': "education_level = 'primary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_junior', 'filter': "education_level = 'junior_secondary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_senior', 'filter': "education_level = 'upper_secondary' and has_myopia is not null", 'numerator': 'has_myopia', 'needs': ['school_type', 'myopia']},
    {'code': 'c_hlt_myopia_incidence', 'filter': 'had_myopia_previous_year = false and has_myopia is not null', 'numerator': 'has_myopia', 'needs': ['myopia']},
    {'code': 'c_hlt_caries_12', 'filter': 'has_caries is not null', 'numerator': 'has_caries', 'needs': ['caries']},
    {'code': 'c_hlt_fitness_good', 'filter': "education_level in ('primary', 'junior_secondary', 'upper_secondary') and fitness_rating is not null", 'numerator': 'is_fitness_good', 'needs': ['school_type', 'fitness_rating']},
] %}

{{ count_components(ref('int_student_health_surveys_enriched'), definitions, residence_column=none) }}
