"""`tuiflow export` that fails: the files there before stay as they were, no temporary file is left,
and the error names the file that failed. Real files, the real CLI; a full disk is a small tmpfs."""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from results_data import REPO, populate, tuiflow

from tuiflow.store import Store

PREVIOUS = "the previous export\n"
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 24, 1, 2, 3


def _as_a_user() -> None:
    """preexec_fn: drop root's power to ignore file modes, for this process and what it executes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def export_as_a_user(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tuiflow export`, with root subject to file modes like anyone else."""
    return subprocess.run([sys.executable, "-m", "tuiflow", "export", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          preexec_fn=_as_a_user if os.geteuid() == 0 else None)  # fmt: skip


def assert_failed(out: subprocess.CompletedProcess[str], message: str) -> None:
    assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr == f"tuiflow: error: {message}\n", out.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_series_file_that_cannot_be_written_leaves_the_runs_file_as_it_was(populated, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    target = tmp_path / f"runs.{fmt}"
    target.write_text(PREVIOUS)
    series = tmp_path / f"runs-metrics.{fmt}"
    series.mkdir()  # in the way of the second file
    out = tuiflow("export", "--home", str(populated.home), "-F", fmt, "-o", str(target))
    assert_failed(out, f"cannot write {series}: Is a directory")
    assert target.read_text() == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"runs-metrics.{fmt}", f"runs.{fmt}"]


def test_a_store_that_fails_midway_leaves_the_previous_file(tmp_path):
    # The runs read fine and are written out; the metric series' page is damaged, so the store fails
    # once the file is half written.
    home = populate(tmp_path / "home").home
    path = home / "tuiflow.db"
    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'metrics'").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[(root - 1) * page : (root - 1) * page + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    target = tmp_path / "out" / "results.json"
    target.parent.mkdir()
    target.write_text(PREVIOUS)
    out = tuiflow("export", "--home", str(home), "-F", "json", "-o", str(target))
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"tuiflow: error: {path}: database disk image is malformed"), out.stderr
    assert target.read_text() == PREVIOUS
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_a_write_protected_file_is_not_replaced(populated, tmp_path):
    # A rename could replace it whatever its mode: the export must not, any more than `open` would.
    target = tmp_path / "kept.json"
    target.write_text(PREVIOUS)
    target.chmod(0o444)
    assert_failed(export_as_a_user(populated.home, "-F", "json", "-o", str(target)),
                  f"cannot write {target}: Permission denied")
    assert target.read_text() == PREVIOUS and [p.name for p in tmp_path.iterdir()] == ["kept.json"]


def test_a_replaced_file_keeps_its_mode_and_a_link_its_target(populated, tmp_path):
    target = tmp_path / "shared.json"
    target.write_text(PREVIOUS)
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(target.name)
    out = tuiflow("export", "--home", str(populated.home), "-F", "json", "--no-metrics", "-o", str(link))
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and json.loads(target.read_text())["runs"]
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "shared.json"]


def scenario_full_target(disk: Path, home: Path, fmt: str) -> dict:
    """Export `home` onto a 64 KiB disk at `disk` that cannot hold it (run alone in a mount namespace)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    target = disk / f"results.{fmt}"
    target.write_text(PREVIOUS)
    out = tuiflow("export", "--home", str(home), "-F", fmt, "-o", str(target))
    return {"target": str(target), "returncode": out.returncode, "stdout": out.stdout, "stderr": out.stderr,
            "content": target.read_text(), "files": sorted(p.name for p in disk.iterdir())}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_a_full_disk_midway_leaves_the_previous_file(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    populated = populate(tmp_path / "home")
    home = populated.home
    with Store.open(home) as store, store.metric_writer(populated.runs["best"]) as writer:
        for step in range(3000):  # a few 100 KiB: the first part goes out before the disk fills
            writer.log(step, loss=1.0 / (step + 1), acc=step / 3000)
    disk = tmp_path / "disk"
    disk.mkdir()
    # A mount namespace of its own: nothing outside sees the tmpfs, and it goes when the scenario ends.
    unshare = ["unshare", "--mount", "--propagation", "private"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    shared = os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])  # the tests' helpers
    run = subprocess.run([*unshare, sys.executable, __file__, "scenario_full_target", str(disk), str(home), fmt],
                         capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": shared})  # fmt: skip
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.splitlines()[-1])
    assert (found["returncode"], found["stdout"]) == (2, "")
    # The runs fit (parquet) or began to (json): the file that failed is named, whichever it was.
    failed = found["target"] if fmt == "json" else found["target"].replace(".parquet", "-metrics.parquet")
    assert found["stderr"] == f"tuiflow: error: cannot write {failed}: No space left on device\n"
    assert found["content"] == PREVIOUS and found["files"] == [f"results.{fmt}"]


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])), flush=True)
