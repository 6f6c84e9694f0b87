"""Every way a reading command can be asked for the impossible: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import sqlite3

import pytest
from results_data import populate, tuiflow

from tuiflow.store import Store


def assert_one_line_error(out, message: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"tuiflow: error: {message}") and out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["show", "999"], "no run 999 in "),
    (["logs", "999"], "no run 999 in "),
    (["logs", "999", "-f"], "no run 999 in "),
    (["results", "--experiment", "nope"], "no experiment 'nope' in "),
    (["results", "--status", "finished"], "unknown run status 'finished': use one of queued, running, done,"),
    (["results", "--json", "--csv"], "choose one of --json and --csv"),
    (["results", "--sort", "acuracy"], "no run selected has a final metric 'acuracy': sort by one of acc, loss,"),
    (["results", "--sort", "-acuracy", "--json"], "no run selected has a final metric 'acuracy': sort by one of acc,"),
])  # fmt: skip
def test_what_is_not_there(populated, args, message):
    assert_one_line_error(tuiflow(*args, "--home", str(populated.home)), message)


def not_tuiflow(home) -> str:
    home.mkdir()
    with sqlite3.connect(home / "tuiflow.db") as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    return "is an SQLite database but not a tuiflow store"


def not_sqlite(home) -> str:
    home.mkdir()
    (home / "tuiflow.db").write_bytes(b"this is a text file, not a database\n" * 200)
    return "is not an SQLite database"


def newer_schema(home) -> str:
    Store.open(home).close()
    with sqlite3.connect(home / "tuiflow.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    return "has schema version 99, newer than this tuiflow supports"


def home_is_a_file(home) -> str:
    home.write_text("")
    return "it is a file, not a directory"


COMMANDS = [["results"], ["show", "1", "--json"], ["logs", "1", "-f"], ["export", "-F", "json"]]
BREAKERS = [not_tuiflow, not_sqlite, newer_schema, home_is_a_file]


# Every breaker meets two commands and every command two breakers: the checks are the same code path.
@pytest.mark.parametrize(("make", "command"), [
    *zip(BREAKERS, COMMANDS), *zip(BREAKERS, COMMANDS[1:] + COMMANDS[:1])
])  # fmt: skip
def test_a_store_that_cannot_be_read(tmp_path, make, command):
    home = tmp_path / "home"
    message = make(home)
    out = tuiflow(*command, "--home", str(home))
    assert_one_line_error(out, "")
    assert message in out.stderr


def test_a_store_damaged_past_its_schema_is_one_line_naming_the_file(tmp_path):
    # The header and the schema pages read fine, so the store opens; the damage shows only when a
    # command reads the runs, and that used to end in sqlite3's traceback.
    home = populate(tmp_path / "home").home
    path = home / "tuiflow.db"
    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[(root - 1) * page:(root - 1) * page + 64] = b"\xff" * 64  # the runs table's page, nothing else
    path.write_bytes(bytes(data))
    for command in (["results"], ["show", "1"], ["cancel", "1"]):
        out = tuiflow(*command, "--home", str(home))
        assert_one_line_error(out, f"{path}: database disk image is malformed: the store is damaged")


@pytest.mark.parametrize(("args", "message"), [
    (["show", "one"], "tuiflow show: Invalid value for 'run_id'"),
    (["results", "--limit", "0"], "tuiflow results: Invalid value for '--limit'"),
    (["export"], "tuiflow export: Missing option '--format'"),
    (["logs", "1", "--tail", "-1"], "tuiflow logs: Invalid value for '--tail'"),
])  # fmt: skip
def test_click_usage_errors_are_one_line_too(args, message):
    out = tuiflow(*args)
    assert out.returncode == 2 and out.stdout == "" and "Usage:" not in out.stderr
    assert out.stderr.startswith("tuiflow: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr and out.stderr.rstrip().endswith("--help`)")
