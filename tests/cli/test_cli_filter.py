"""`tuiflow results --filter EXPR`: History's filter on the command line (a bad one is one line)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import tuiflow


def test_results_filter_selects_as_history_does(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ran = tuiflow(home, "run", "sleep", "--grid", "seconds=0,0.01,0.02", "--set", "steps=2", "--foreground")
    assert ran.returncode == 0, ran.stderr

    def ids(*args: str) -> list[int]:
        result = tuiflow(home, "results", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [row["id"] for row in json.loads(result.stdout)]

    assert ids() == [1, 2, 3]
    assert ids("--filter", "seconds>0") == [2, 3]
    assert ids("--filter", "seconds>0 status=done", "--sort", "seconds") == [3, 2]
    assert ids("--filter", "status=failed") == []
    assert tuiflow(home, "results", "--filter", "seconds>0.015").stdout.count("\n") > 3  # a table of run 3
    csv = tuiflow(home, "results", "--csv", "--filter", "seconds<0.005").stdout.splitlines()
    assert len(csv) == 2 and csv[1].startswith("1,")
    bad = tuiflow(home, "results", "--filter", "seconds<")
    assert bad.returncode == 2 and bad.stderr.startswith("tuiflow: error: filter term 'seconds<'")
    assert bad.stderr.count("\n") == 1 and bad.stdout == ""
