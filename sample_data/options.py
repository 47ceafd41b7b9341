"""Options of a generator run and the presets."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 430502
DEFAULT_YEARS = list(range(2019, 2025))     # 2020 is the plans' baseline
# The committed sample in raw/ must stay under ~30 MB: scale 1.0 (the whole district, six years) is
# ~75 MB, 0.35 is ~28 MB. The sample is 0.35 of the district, all default years, with defects.
SAMPLE_SCALE = 0.35

EXTRACT_ORDER = [
    "population", "births", "deaths", "child_health", "cancer_screening", "students", "student_health",
    "grade_history", "committee_members", "social_assistance", "cases", "legal_aid", "forms",
]


class GeneratorError(ValueError):
    """A problem with the options or inputs, reported without a traceback."""


@dataclass
class Options:
    out: Path
    seed: int = DEFAULT_SEED
    years: list[int] = field(default_factory=lambda: list(DEFAULT_YEARS))
    scale: float = 1.0
    clean: bool = False
    defect_rate: float = 1.0
    manifest: Path | None = None
    areas: Path | None = None
    extracts: list[str] | None = None     # None = all
    quiet: bool = False
    jobs: int = 1                         # worker processes; the files do not depend on it

    @property
    def manifest_path(self) -> Path:
        return self.manifest or (self.out / "_generator" / "manifest.json")

    def wants(self, extract: str) -> bool:
        return self.extracts is None or extract in self.extracts


def parse_years(text: str) -> list[int]:
    """'2019-2024' or '2019,2021,2023' or '2022'."""
    years: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            years.extend(range(lo, hi + 1))
        elif part:
            years.append(int(part))
    if not years:
        raise GeneratorError(f"no years in {text!r}")
    return sorted(set(years))
