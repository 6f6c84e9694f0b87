"""A mistyped home is an error, never a new empty store: every command that reads or steers runs
refuses a home without a tuiflow database in one line (exit code 2) and creates nothing there."""

from __future__ import annotations

from pathlib import Path

import pytest
from results_data import tuiflow

# Every command of the CLI that needs a store but must not start one (`run` and `daemon start` do).
COMMANDS = [
    ["results"], ["show", "1"], ["logs", "1"], ["logs", "1", "-f"], ["export", "-F", "json"], ["queue"],
    ["gpus"], ["top", "--once"], ["top", "--json"], ["daemon", "status"], ["daemon", "stop"], ["cancel", "1"],
    ["retry", "1"], ["priority", "1", "5"], ["pause"], ["resume"],
]  # fmt: skip


def no_store(home: Path) -> str:
    return (
        f"tuiflow: error: no tuiflow store in {home} (nothing has been run there yet; check --home or $TUIFLOW_HOME)\n"
    )


def assert_refused(out, home: Path) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr == no_store(home)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_home_that_does_not_exist_is_refused_and_not_created(tmp_path, command):
    home = tmp_path / "typo" / "home"
    assert_refused(tuiflow(*command, "--home", str(home)), home)
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_empty_home_directory_is_refused_and_stays_empty(tmp_path, command):
    home = tmp_path / "home"
    home.mkdir()
    assert_refused(tuiflow(*command, "--home", str(home)), home)
    assert list(home.iterdir()) == []


def test_the_home_from_tuiflow_home_is_refused_the_same_way(tmp_path):
    home = tmp_path / "env-typo"
    assert_refused(tuiflow("results", env={"TUIFLOW_HOME": str(home)}), home)
    assert not home.exists()


def test_a_home_that_is_a_file_is_named_as_such(tmp_path):
    home = tmp_path / "file"
    home.write_text("")
    out = tuiflow("queue", "--home", str(home))
    assert out.returncode == 2
    assert out.stderr == (
        f"tuiflow: error: no tuiflow store in {home} (it is a file, not a directory; check --home or $TUIFLOW_HOME)\n"
    )


def test_run_still_starts_a_store_in_a_new_home(tmp_path):
    home = tmp_path / "new" / "home"
    quick = ["--set", "seconds=0", "--set", "steps=1"]
    out = tuiflow("run", "sleep", *quick, "--foreground", "--json", "--home", str(home), timeout=120)
    assert out.returncode == 0, out.stderr
    assert (home / "tuiflow.db").is_file()
    listed = tuiflow("results", "--home", str(home), "--json")
    assert listed.returncode == 0 and '"status": "done"' in listed.stdout
