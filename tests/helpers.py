"""Small builders for test files (valid ID numbers, CSV/XLSX writing)."""
from __future__ import annotations

import csv
from pathlib import Path

from dagster import materialize

from dagster_project.ingest.idnumber import check_char


def make_id(birth: str = "19900101", sex: str = "2", area: str = "430502", seq: str = "12") -> str:
    """A valid 18-digit ID: digit 17 odd for men, even for women."""
    digit17 = {"1": "1", "2": "2"}[sex]
    first17 = f"{area}{birth}{seq}{digit17}"
    return first17 + check_char(first17)


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ingest(*extract_names: str):
    """Materialise the ingestion assets of the given extracts (all if none) through Dagster."""
    from dagster_project.defs.ingestion.assets import build_extract_assets
    from dagster_project.resources import WarehouseResource

    assets = [a for a in build_extract_assets() if not extract_names or a.key.path[-1] in (*extract_names, "file_inventory")]
    result = materialize(assets, resources={"warehouse": WarehouseResource()})
    assert result.success
    return result
