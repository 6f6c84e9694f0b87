"""Homes a command cannot use as asked: an empty path, a read-only home, a full disk. Each is one line
naming the home (exit code 2), and reading commands still work where only writing cannot.

Run through the real CLI in subprocesses, on real files: the read-only home by file modes (as root,
with the capabilities that ignore them dropped), the full disk as a small tmpfs of its own.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tuiflow.store import RunSpec, Store

REPO = Path(__file__).resolve().parents[2]

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3

WRITING = [["run", "sleep"], ["cancel", "2"], ["retry", "1"], ["priority", "2", "5"], ["pause"], ["daemon", "start"]]
READING = [["results"], ["show", "1", "--json"], ["queue"], ["logs", "1"]]


def _as_a_user() -> None:
    """preexec_fn: drop root's power to ignore file modes, for this process and what it executes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        # Out of the bounding set: the exec that follows gives root every capability but these.
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def tuiflow(*args: str, home: Path | None = None, env: dict[str, str] | None = None,
            user: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it; `user` makes root subject to file modes like anyone else."""
    return subprocess.run(
        [sys.executable, "-m", "tuiflow", *args, *(["--home", str(home)] if home is not None else [])],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", **(env or {})},
        preexec_fn=_as_a_user if user and os.geteuid() == 0 else None,
    )  # fmt: skip


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    """The error of a command that must fail in one line with exit code 2."""
    assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr.startswith("tuiflow: error: ") and out.stderr.count("\n") == 1, out.stderr
    return out.stderr[len("tuiflow: error: ") : -1]


def populate(home: Path) -> None:
    """Run 1 done (with its log and metrics, by a real foreground run), run 2 queued."""
    done = tuiflow("run", "sleep", "--foreground", "--set", "seconds=0", "--set", "steps=3", home=home)
    assert done.returncode == 0, done.stderr
    with Store.open(home) as store:
        (experiment,) = store.list_experiments()
        (queued,) = store.add_runs(experiment.id, [RunSpec(config={"seconds": 0, "steps": 1})])
        assert queued.id == 2


def listing(home: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir()}


# -- an empty home ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["queue"], ["results"], ["run", "sleep", "--foreground"]])
def test_an_empty_home_is_an_error_not_the_default_home(tmp_path, command):
    # The default home holds a store, so a command sent there by mistake would work (and `run` would
    # add to it): `--home "$UNSET"` must not quietly mean it, nor the current folder.
    default = tmp_path / "xdg" / "tuiflow"
    populate(default)
    env = {**{k: v for k, v in os.environ.items() if k != "TUIFLOW_HOME"}, "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tuiflow", *command, *args], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path, env={**env, **extra})  # fmt: skip

    assert one_line_error(run("--home", "")) == (
        "the tuiflow home is an empty path: name a directory (--home DIR), or leave --home out for the default")
    assert one_line_error(run(TUIFLOW_HOME="")) == (
        "$TUIFLOW_HOME is set but empty: name a directory, or unset it for the default home")
    with Store.open(default, create=False) as store:
        assert [r.status for r in store.list_runs()] == ["done", "queued"]  # nothing ran, nothing was added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xdg"]  # and no store in the current folder


# -- a read-only home -------------------------------------------------------------------------------


@pytest.fixture(params=["folder", "database"])
def read_only_home(request, tmp_path):
    """A populated home whose folder, or whose database file, the commands may not write."""
    home = tmp_path / "home"
    populate(home)
    target = home if request.param == "folder" else home / "tuiflow.db"
    before = stat.S_IMODE(target.stat().st_mode)
    target.chmod(0o555 if request.param == "folder" else 0o444)
    yield home, request.param
    target.chmod(before)


def test_a_read_only_home_says_so_for_writes_and_still_reads(read_only_home, tmp_path):
    home, what = read_only_home
    files = listing(home)
    reason = "no write permission on the folder" if what == "folder" else "no write permission on tuiflow.db"
    for command in WRITING:
        assert one_line_error(tuiflow(*command, home=home, user=True)) == (
            f"tuiflow home {home} is read-only ({reason}): it can be read but not changed; make it writable, "
            "or use another --home"), command
    read = {}
    for command in READING:
        out = read[command[0]] = tuiflow(*command, home=home, user=True)
        assert out.returncode == 0 and out.stderr == "", (command, out.stderr)
    assert json.loads(read["show"].stdout)["status"] == "done"
    assert "s in 3 steps" in read["logs"].stdout
    exported = tuiflow("export", "-F", "json", "-o", str(tmp_path / "out.json"), home=home, user=True)
    assert exported.returncode == 0, exported.stderr
    assert [r["status"] for r in json.loads((tmp_path / "out.json").read_text())["runs"]] == ["done", "queued"]
    assert tuiflow("recipes", user=True).returncode == 0
    # Reading left nothing behind: a -shm made with the database's read-only mode would stop every
    # writer once the home is writable again.
    assert listing(home) == files


def test_a_home_made_writable_again_takes_writes(read_only_home):
    home, _ = read_only_home
    assert tuiflow("queue", home=home, user=True).returncode == 0
    for path in (home, home / "tuiflow.db"):
        path.chmod(stat.S_IMODE(path.stat().st_mode) | stat.S_IWUSR)
    out = tuiflow("priority", "2", "5", home=home, user=True)
    assert out.returncode == 0, out.stderr
    with Store.open(home, create=False) as store:
        assert store.get_run(2).priority == 5


# -- a full disk ------------------------------------------------------------------------------------


def on_small_disk(disk: Path, scenario: str) -> dict:
    """Run `scenario` of this file with a 1 MiB tmpfs at `disk`, mounted for it alone."""
    disk.mkdir()
    # A mount namespace of its own: nothing outside sees the tmpfs, and it goes when the scenario ends.
    # As root that needs no more; as a user, a user namespace of its own too.
    unshare = ["unshare", "--mount", "--propagation", "private"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    out = subprocess.run([*unshare, sys.executable, __file__, scenario, str(disk)], capture_output=True, text=True,
                         timeout=180, cwd=REPO)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def fill(path: Path) -> None:
    """Write `path` until its disk is full."""
    with open(path, "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def scenario_full_disk(disk: Path) -> dict:
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    home = disk / "home"
    populate(home)

    def outcome(command):
        out = tuiflow(*command, home=home)
        return {"command": command, "returncode": out.returncode, "stdout": out.stdout, "stderr": out.stderr}

    # While another process has the store open, its -shm is there at full size: a write fails in SQLite's
    # write-ahead log ("database or disk is full"). With nobody there, opening the store already needs
    # space for the -shm ("disk I/O error").
    reader = sqlite3.connect(home / "tuiflow.db")
    reader.execute("SELECT count(*) FROM runs").fetchone()
    try:
        fill(disk / "filler")
        held = [outcome(c) for c in WRITING if c[0] not in ("run", "daemon")]
    finally:
        reader.close()
    return {"home": str(home), "held": held, "alone": [outcome(c) for c in WRITING + READING]}


def test_a_full_disk_says_the_disk_is_full_and_still_reads(tmp_path):
    found = on_small_disk(tmp_path / "disk", "scenario_full_disk")
    message = (f"tuiflow: error: the disk holding tuiflow home {found['home']} is full: free some space there, "
               "or use another --home\n")
    assert len(found["held"]) == 4
    for out in found["held"] + found["alone"]:
        if out["command"] in WRITING:
            assert (out["returncode"], out["stdout"], out["stderr"]) == (2, "", message), out
        else:
            assert out["returncode"] == 0 and out["stderr"] == "", out
    shown = next(o for o in found["alone"] if o["command"][0] == "show")
    assert json.loads(shown["stdout"])["status"] == "done"


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]](Path(sys.argv[2]))), flush=True)
