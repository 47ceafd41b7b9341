"""A hand-made SDMX structure (what dbt's rpt_sdmx_* models give the submission) for tests that need no warehouse."""
from __future__ import annotations

import polars as pl

from dagster_project.exports.sdmx import Structure

ROLES = [("REF_AREA", "dimension"), ("INDICATOR", "dimension"), ("SEX", "dimension"), ("AGE", "dimension"),
         ("URBANISATION", "dimension"), ("TIME_PERIOD", "time_dimension"), ("OBS_VALUE", "measure"),
         ("UNIT_MEASURE", "attribute"), ("PERIOD_BASIS", "attribute"), ("OBS_STATUS", "attribute"),
         ("CONF_STATUS", "attribute")]
TEXT_TYPES = {"TIME_PERIOD": "ObservationalTimePeriod", "OBS_VALUE": "Double"}


def small_structure(codes: dict[str, list[str]]) -> Structure:
    """`codes`: code list id (CL_<component>) -> its code ids."""
    artefacts = {kind: {"artefact_kind": kind, "agency_id": "TEST", "artefact_id": artefact_id, "version": "1.0",
                        "name_zh": f"测试 {artefact_id}", "name_en": f"Test {artefact_id}"}
                 for kind, artefact_id in [("agency", "TEST"), ("concept_scheme", "CS_TEST"),
                                           ("data_structure", "DSD_TEST"), ("dataflow", "TEST_FLOW")]}
    components = [{
        "component_id": cid, "role": role, "codelist_id": None if cid in TEXT_TYPES else f"CL_{cid}",
        "codelist_name_zh": f"{cid}代码表", "codelist_name_en": f"Code list: {cid}", "text_type": TEXT_TYPES.get(cid),
        "is_required": True, "position": position, "name_zh": cid, "name_en": cid,
        "description_zh": None, "description_en": None,
    } for position, (cid, role) in enumerate(ROLES, start=1)]
    rows = [{"codelist_id": cl, "code_id": code, "name_zh": code, "name_en": code, "description_zh": None,
             "description_en": None, "parent_code_id": None, "sort_order": i}
            for cl, ids in codes.items() for i, code in enumerate(ids)]
    return Structure(artefacts, components, pl.DataFrame(rows))
