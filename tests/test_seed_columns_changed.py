"""A column added to a seed reaches an existing warehouse: the seed's table is recreated, not reloaded into
its old columns (which failed the whole run), and only the seeds whose columns changed are touched."""
from __future__ import annotations

import duckdb

from dagster_project.lib.dbt_seed_state import drop_seed_tables_with_other_columns


def _manifest(tmp_path, **csv_text) -> dict:
    nodes = {}
    for name, text in csv_text.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        nodes[f"seed.monitoring.{name}"] = {"resource_type": "seed", "name": name, "schema": "main_seeds",
                                             "original_file_path": str(path)}
    return {"nodes": nodes}


def test_only_the_seed_whose_columns_changed_is_dropped(workspace, tmp_path):
    work_db = workspace["warehouse"] / "work.duckdb"
    with duckdb.connect(str(work_db)) as con:
        con.execute("CREATE SCHEMA main_seeds")
        con.execute("CREATE TABLE main_seeds.status_labels AS SELECT 'met' AS status, '已达标' AS label_zh")
        con.execute("CREATE TABLE main_seeds.plan_labels AS SELECT 'women' AS plan, '妇女' AS label_zh")
    manifest = _manifest(tmp_path,
                         status_labels="status,label_zh,evaluation_group\nmet,已达标,met\n",
                         plan_labels="plan,label_zh\nwomen,妇女\n",
                         new_seed="a,b\n1,2\n")
    dropped = drop_seed_tables_with_other_columns({"status_labels", "plan_labels", "new_seed"}, manifest)
    assert dropped == {"status_labels"}
    with duckdb.connect(str(work_db), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main_seeds'").fetchall()}
    assert tables == {"plan_labels"}
