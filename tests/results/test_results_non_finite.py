"""A recipe whose final metrics hold NaN and infinities: the store keeps strict JSON that SQLite's own
JSON functions read, and every reading command still works and says what the values were."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from results_data import tuiflow

RECIPE = '''
from tuiflow import recipe


@recipe(name="odd", params={"loss": "nan"})
def odd(run):
    run.log(0, loss=1.0, acc=0.25)
    run.log(1, loss=float("nan"), acc=float("inf"))  # the metrics table stores NaN as NULL
    return {"loss": float(run.config["loss"]), "big": float("inf"), "small": float("-inf"), "acc": 0.5}
'''


def strict_json(text: str) -> Any:
    """Parse JSON as SQLite and every other strict reader would: no NaN or Infinity tokens."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def ok(*args: str, home: str) -> str:
    out = tuiflow(*args, "--home", home, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_nan_and_infinite_final_metrics_stay_readable(tmp_path: Path):
    recipes, home = tmp_path / "recipes", str(tmp_path / "home")
    recipes.mkdir()
    (recipes / "odd.py").write_text(RECIPE)
    ran = strict_json(ok("run", "odd", "--grid", "loss=nan,1,inf,-inf", "--foreground", "--json", "--recipes",
                         str(recipes), home=home))
    ids = {run["config"]["loss"]: run["id"] for run in ran}
    spelled = {"loss": "nan", "big": "inf", "small": "-inf", "acc": 0.5}
    assert next(run for run in ran if run["id"] == ids["nan"])["metrics"] == spelled

    with sqlite3.connect(Path(home) / "tuiflow.db") as conn:
        rows = conn.execute("SELECT json_extract(metrics, '$.acc'), json_extract(metrics, '$.loss') FROM runs "
                            "ORDER BY id").fetchall()
    assert sorted(rows, key=str) == sorted([(0.5, "nan"), (0.5, 1.0), (0.5, "inf"), (0.5, "-inf")], key=str)

    listed = {row["id"]: row for row in strict_json(ok("results", "--json", home=home))}
    assert listed[ids["nan"]]["metrics"] == spelled and listed[ids["1"]]["metrics"]["loss"] == 1.0

    # Infinities sort as the numbers they are; NaN goes last either way, like a missing value.
    by_loss = [row["id"] for row in strict_json(ok("results", "--json", "--sort", "loss", home=home))]
    assert by_loss == [ids["inf"], ids["1"], ids["-inf"], ids["nan"]]
    by_loss = [row["id"] for row in strict_json(ok("results", "--json", "--sort", "-loss", home=home))]
    assert by_loss == [ids["-inf"], ids["1"], ids["inf"], ids["nan"]]
    table = ok("results", "--sort", "loss", home=home)
    assert "4 runs" in table and "nan" in table and "-inf" in table

    details = strict_json(ok("show", str(ids["nan"]), "--json", home=home))
    assert details["metrics"] == spelled
    assert details["summary"]["loss"]["last_value"] is None and details["summary"]["acc"]["max"] == "inf"
    shown = ok("show", str(ids["nan"]), home=home)
    assert "nan" in shown and "-inf" in shown

    doc = strict_json(ok("export", "-F", "json", "-e", "odd", "--status", "done", home=home))
    assert {row["id"]: row["metrics"] for row in doc["runs"]}[ids["nan"]] == spelled
    series = {(m["key"], m["step"]): m["value"] for m in doc["metrics"] if m["run_id"] == ids["nan"]}
    assert series == {("acc", 0): 0.25, ("acc", 1): "inf", ("loss", 0): 1.0, ("loss", 1): None}
    ok("export", "-F", "csv", "--output", str(tmp_path / "runs.csv"), home=home)
    assert (tmp_path / "runs-metrics.csv").read_text().count("\n") == 1 + 4 * 4
