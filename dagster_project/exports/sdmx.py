"""The provincial submission in SDMX: a structure message (SDMX-ML 2.1) and the data (SDMX-CSV 2.0).

What the structure says comes from dbt (`models/marts/sdmx`): the artefact ids (`rpt_sdmx_artefacts`), the
components of the data structure definition (`rpt_sdmx_components`, seed `sdmx_components`), every code
with its meaning (`rpt_sdmx_codes`, from dim_indicator, dim_area, dim_sex, dim_age_group, dim_residence,
dim_period_basis and seed `sdmx_status_codes`) and each observation's key, TIME_PERIOD and observation
status (`rpt_sdmx_observations`). This module only serialises them.

* `write_structure` writes the structure message itself (standard-library XML): pysdmx's structure writer
  takes one name per artefact and labels every name `xml:lang="en"`, and the names here are Chinese first
  with English beside (`<com:Name xml:lang="zh">`, `<com:Name xml:lang="en">`). tests/test_sdmx.py validates
  the message against the SDMX-ML 2.1 XML schema and reads it with pysdmx and sdmx1.
* `write_data` writes SDMX-CSV 2.0 with pysdmx, against the schema pysdmx reads back from that structure
  message: the CSV can only hold what the shipped structure defines. SDMX-CSV 2.0 (not 1.0) because sdmx1
  reads only 2.0; pysdmx reads both. UTF-8 without a byte-order mark. A suppressed observation has OBS_VALUE
  `NaN` (SDMX-CSV's intentionally missing number: both readers make it NaN, whereas an empty field makes
  sdmx1 fail), OBS_STATUS `Q` (missing value; suppressed) and CONF_STATUS `C` (primary) or `D` (secondary).
"""
from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

# The columns of the SDMX-CSV after STRUCTURE, STRUCTURE_ID and ACTION, in the DSD's order.
OBSERVATION_COLUMNS = {
    "REF_AREA": "ref_area", "INDICATOR": "indicator", "SEX": "sdmx_sex", "AGE": "age",
    "URBANISATION": "urbanisation", "TIME_PERIOD": "time_period", "OBS_VALUE": "obs_value",
    "UNIT_MEASURE": "unit_measure", "PERIOD_BASIS": "sdmx_period_basis", "OBS_STATUS": "obs_status",
    "CONF_STATUS": "conf_status",
}


@dataclass(frozen=True)
class Structure:
    """The structure as dbt describes it."""

    artefacts: dict[str, dict]     # artefact_kind -> row of rpt_sdmx_artefacts
    components: list[dict]         # rows of rpt_sdmx_components, in position order
    codes: pl.DataFrame            # rpt_sdmx_codes

    @property
    def agency(self) -> str:
        return self.artefacts["agency"]["agency_id"]

    @property
    def version(self) -> str:
        return self.artefacts["dataflow"]["version"]

    @property
    def dataflow_urn(self) -> str:
        """The short reference SDMX-CSV writes in STRUCTURE_ID: AGENCY:ID(VERSION)."""
        return f"{self.agency}:{self.artefacts['dataflow']['artefact_id']}({self.version})"


def read_structure(con: duckdb.DuckDBPyConnection) -> Structure:
    artefacts = {r["artefact_kind"]: r for r in con.execute(
        "SELECT * FROM main_marts.rpt_sdmx_artefacts").pl().iter_rows(named=True)}
    components = list(con.execute(
        "SELECT * FROM main_marts.rpt_sdmx_components ORDER BY position").pl().iter_rows(named=True))
    codes = con.execute("SELECT * FROM main_marts.rpt_sdmx_codes ORDER BY codelist_id, sort_order, code_id").pl()
    return Structure(artefacts, components, codes)


def observations(con: duckdb.DuckDBPyConnection, year: int) -> pl.DataFrame:
    """The year's observations with their SDMX key, TIME_PERIOD, unit, period basis and observation status."""
    return con.execute("SELECT * FROM main_marts.rpt_sdmx_observations WHERE period_year = ?", [year]).pl()


def conf_status_codes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Protection status (published / primary / secondary / not_public) -> CL_CONF_STATUS code."""
    return dict(con.execute(
        "SELECT applies_when, code_id FROM main_seeds.sdmx_status_codes WHERE codelist_id = 'CL_CONF_STATUS'"
    ).fetchall())


def suppressed_obs_status(con: duckdb.DuckDBPyConnection) -> str:
    """The CL_OBS_STATUS code of an observation the public edition suppresses."""
    return con.execute("SELECT code_id FROM main_seeds.sdmx_status_codes "
                       "WHERE codelist_id = 'CL_OBS_STATUS' AND applies_when = 'suppressed'").fetchone()[0]


# --- the structure message -------------------------------------------------------------------------------

def _el(parent: ET.Element, tag: str, attrib: dict | None = None, text: str | None = None) -> ET.Element:
    prefix, _, local = tag.partition(":")
    name = f"{{{NS[prefix]}}}{local}" if local else tag  # "Ref" is unqualified in SDMX-ML 2.1
    element = ET.SubElement(parent, name, {k: str(v) for k, v in (attrib or {}).items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _names(parent: ET.Element, name_zh: str, name_en: str | None, description_zh: str | None = None,
           description_en: str | None = None) -> None:
    """Chinese first, English beside: one com:Name (and com:Description) per language."""
    _el(parent, "com:Name", {XML_LANG: "zh"}, name_zh)
    if name_en:
        _el(parent, "com:Name", {XML_LANG: "en"}, name_en)
    if description_zh:
        _el(parent, "com:Description", {XML_LANG: "zh"}, description_zh)
    if description_en:
        _el(parent, "com:Description", {XML_LANG: "en"}, description_en)


def _maintainable(parent: ET.Element, tag: str, structure: Structure, artefact_id: str) -> ET.Element:
    return _el(parent, tag, {"id": artefact_id, "agencyID": structure.agency, "version": structure.version,
                             "isFinal": "true"})


def structure_message(structure: Structure, prepared: dt.datetime | None = None) -> bytes:
    """The SDMX-ML 2.1 structure message: dataflow, code lists, concept scheme, data structure definition."""
    art = structure.artefacts
    agency, version = structure.agency, structure.version
    concept_scheme = art["concept_scheme"]["artefact_id"]
    dsd_id = art["data_structure"]["artefact_id"]
    root = ET.Element(f"{{{NS['mes']}}}Structure")
    header = _el(root, "mes:Header")
    _el(header, "mes:ID", text=f"{dsd_id}_{version.replace('.', '_')}")
    _el(header, "mes:Test", text="false")
    _el(header, "mes:Prepared", text=(prepared or dt.datetime.now()).replace(microsecond=0).isoformat())
    sender = _el(header, "mes:Sender", {"id": agency})
    _names(sender, art["agency"]["name_zh"], art["agency"]["name_en"])
    structures = _el(root, "mes:Structures")

    flows = _el(structures, "str:Dataflows")
    flow = _maintainable(flows, "str:Dataflow", structure, art["dataflow"]["artefact_id"])
    _names(flow, art["dataflow"]["name_zh"], art["dataflow"]["name_en"])
    _el(_el(flow, "str:Structure"), "Ref", {"id": dsd_id, "version": version, "agencyID": agency,
                                            "package": "datastructure", "class": "DataStructure"})

    codelists = _el(structures, "str:Codelists")
    coded = [c for c in structure.components if c["codelist_id"]]
    for component in sorted(coded, key=lambda c: c["codelist_id"]):
        codelist = _maintainable(codelists, "str:Codelist", structure, component["codelist_id"])
        _names(codelist, component["codelist_name_zh"], component["codelist_name_en"])
        for code in structure.codes.filter(pl.col("codelist_id") == component["codelist_id"]).iter_rows(named=True):
            element = _el(codelist, "str:Code", {"id": code["code_id"]})
            _names(element, code["name_zh"], code["name_en"], code["description_zh"], code["description_en"])
            if code["parent_code_id"]:
                _el(_el(element, "str:Parent"), "Ref", {"id": code["parent_code_id"]})

    concepts = _el(structures, "str:Concepts")
    scheme = _maintainable(concepts, "str:ConceptScheme", structure, concept_scheme)
    _names(scheme, art["concept_scheme"]["name_zh"], art["concept_scheme"]["name_en"])
    for component in structure.components:
        concept = _el(scheme, "str:Concept", {"id": component["component_id"]})
        _names(concept, component["name_zh"], component["name_en"], component["description_zh"],
               component["description_en"])

    dsds = _el(structures, "str:DataStructures")
    dsd = _maintainable(dsds, "str:DataStructure", structure, dsd_id)
    _names(dsd, art["data_structure"]["name_zh"], art["data_structure"]["name_en"])
    parts = _el(dsd, "str:DataStructureComponents")
    dimensions = _el(parts, "str:DimensionList", {"id": "DimensionDescriptor"})
    attributes = _el(parts, "str:AttributeList", {"id": "AttributeDescriptor"})
    measures = _el(parts, "str:MeasureList", {"id": "MeasureDescriptor"})
    measure_id = next(c["component_id"] for c in structure.components if c["role"] == "measure")
    for position, component in enumerate([c for c in structure.components if c["role"] in
                                          ("dimension", "time_dimension")], start=1):
        tag = "str:TimeDimension" if component["role"] == "time_dimension" else "str:Dimension"
        element = _el(dimensions, tag, {"id": component["component_id"], "position": position})
        _component_body(element, component, structure, concept_scheme)
    for component in [c for c in structure.components if c["role"] == "attribute"]:
        status = "Mandatory" if component["is_required"] else "Conditional"
        element = _el(attributes, "str:Attribute", {"id": component["component_id"], "assignmentStatus": status})
        _component_body(element, component, structure, concept_scheme)
        # every attribute is reported with each observation (the simplest attachment every reader supports)
        _el(_el(_el(element, "str:AttributeRelationship"), "str:PrimaryMeasure"), "Ref", {"id": measure_id})
    for component in [c for c in structure.components if c["role"] == "measure"]:
        element = _el(measures, "str:PrimaryMeasure", {"id": component["component_id"]})
        _component_body(element, component, structure, concept_scheme)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def _component_body(element: ET.Element, component: dict, structure: Structure, concept_scheme: str) -> None:
    _el(_el(element, "str:ConceptIdentity"), "Ref", {
        "id": component["component_id"], "maintainableParentID": concept_scheme,
        "maintainableParentVersion": structure.version, "agencyID": structure.agency,
        "package": "conceptscheme", "class": "Concept"})
    representation = _el(element, "str:LocalRepresentation")
    if component["codelist_id"]:
        _el(_el(representation, "str:Enumeration"), "Ref", {
            "id": component["codelist_id"], "version": structure.version, "agencyID": structure.agency,
            "package": "codelist", "class": "Codelist"})
    else:
        _el(representation, "str:TextFormat", {"textType": component["text_type"]})


def write_structure(structure: Structure, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(structure_message(structure))
    tmp.replace(path)
    return path


# --- the data --------------------------------------------------------------------------------------------

def write_data(frame: pl.DataFrame, structure_path: Path, path: Path) -> Path:
    """SDMX-CSV 2.0 of `frame` (columns named as OBSERVATION_COLUMNS' values), written by pysdmx against the
    dataflow and data structure it reads from the structure message at `structure_path`."""
    from pysdmx.io import read_sdmx
    from pysdmx.io.format import Format
    from pysdmx.io.pd import PandasDataset
    from pysdmx.io.writer import write_sdmx
    from pysdmx.model import Schema

    message = read_sdmx(structure_path)
    flow = message.get_dataflows()[0]
    dsd = message.get_data_structure_definitions()[0]
    schema = Schema(context="dataflow", agency=flow.agency, id=flow.id, version=flow.version,
                    components=dsd.components, name=flow.name)
    data = frame.select(*(pl.col(source).alias(target) for target, source in OBSERVATION_COLUMNS.items()))
    table = data.with_columns(pl.col("OBS_VALUE").cast(pl.Float64)).to_pandas()
    tmp = path.with_name(path.name + ".tmp")
    write_sdmx(PandasDataset(structure=schema, data=table), Format.DATA_SDMX_CSV_2_0_0, output_path=str(tmp))
    tmp.replace(path)
    return path
