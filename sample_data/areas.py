"""The townships the generator populates, read from an areas CSV (the seed by default).

Townships are the rows of level `township`. Their type (街道 / 镇 / 乡) decides
whether they are urban-dominant or rural-dominant; their county (parent code)
decides the local area code of the ID numbers issued to people born there.
Sizes and urban shares are derived from the township code alone, so the shape of
the district does not change with the random seed: only the noise does.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import SEEDS_DIR
from sample_data import hashing

# Urban share of residents by township type: 街道 are urban-dominant, 镇 and 乡 rural-dominant
# (a town seat is urban, its villages rural).
URBAN_SHARE = {"街道": (0.86, 0.97), "镇": (0.20, 0.38), "乡": (0.06, 0.15)}
# Relative size by type (a 乡 is smaller than a 镇 or a 街道).
SIZE_BY_TYPE = {"街道": 1.0, "镇": 1.05, "乡": 0.65}


@dataclass(frozen=True)
class Township:
    index: int            # position in the township list (0-based)
    code: str             # 9-digit NBS code
    name_zh: str
    kind: str             # 街道 / 镇 / 乡
    county_code: str      # 6-digit county code (parent)
    county_index: int     # position of the county among the counties of the run
    rank_in_county: int   # position of the township within its county
    townships_in_county: int
    weight: float         # relative population size
    urban_share: float

    @property
    def is_urban_dominant(self) -> bool:
        return self.kind == "街道"

    @property
    def code_int(self) -> int:
        return int(self.code)


def _kind(row: dict[str, str]) -> str:
    text = (row.get("area_type_zh") or "").strip()
    if text in URBAN_SHARE:
        return text
    # NBS convention: township part 001–099 街道, 100–199 镇, 200–399 乡.
    part = int(row["area_code"][6:9])
    return "街道" if part < 100 else ("镇" if part < 200 else "乡")


def load_townships(areas_csv: Path | None = None) -> list[Township]:
    path = areas_csv or (SEEDS_DIR / "areas.csv")
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("level") or "").strip() == "township"]
    if not rows:
        raise ValueError(f"{path}: no rows of level 'township'")
    rows.sort(key=lambda r: r["area_code"])
    counties: list[str] = []
    for r in rows:
        county = (r.get("parent_code") or "").strip() or r["area_code"][:6]
        if county not in counties:
            counties.append(county)
    per_county: dict[str, int] = {}
    townships = []
    for i, r in enumerate(rows):
        code = r["area_code"].strip()
        county = (r.get("parent_code") or "").strip() or code[:6]
        kind = _kind(r)
        lo, hi = URBAN_SHARE[kind]
        # Seed-independent structure: size and urban share come from the code alone.
        weight = SIZE_BY_TYPE[kind] * float(2.0 ** (0.35 * hashing.scalar_normal("size", int(code))))
        urban = lo + (hi - lo) * hashing.scalar_uniform("urban", int(code))
        rank = per_county.get(county, 0)
        per_county[county] = rank + 1
        townships.append(Township(i, code, r.get("name_zh", "").strip(), kind, county, counties.index(county),
                                  rank, 0, weight, urban))
    return [
        Township(t.index, t.code, t.name_zh, t.kind, t.county_code, t.county_index, t.rank_in_county,
                 per_county[t.county_code], t.weight, t.urban_share)
        for t in townships
    ]


def county_codes(townships: list[Township]) -> list[str]:
    seen: list[str] = []
    for t in townships:
        if t.county_code not in seen:
            seen.append(t.county_code)
    return seen
