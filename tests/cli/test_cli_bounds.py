"""Numbers out of range, typed as a user would, in real subprocesses: a grid too large to build, integers
SQLite cannot hold, intervals no timer can wait. Each is one line on stderr, exit code 2, and nothing
created or started (issue 10, points 7 and 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUGE = "99999999999999999999999"  # more than SQLite's 64-bit integers hold


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home that does not exist yet: no command here may create it."""
    return tmp_path / "home"


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, TUIFLOW_HOME=str(home), TUIFLOW_FAKE_GPUS="2",
               TUIFLOW_FAKE_GPUS_STATE=str(home.parent / "fake-gpus"))
    env.pop("TUIFLOW_RECIPES", None)
    return env


def tuiflow(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuiflow", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env_for(home), timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert result.stderr.startswith("tuiflow: error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


# Where a command would run a recipe on today's code, it is told to fail at once (fail=raise at step 0),
# so a missing check shows as a failed run, not as a run of 10**20 steps.
FAIL_NOW = ["--set", "fail=raise", "--set", "fail_at=0", "--foreground"]


@pytest.mark.parametrize(("args", "message"), [
    (["run", "sleep", "--priority", HUGE, *FAIL_NOW],
     f"--priority must be a whole number from -1,000,000,000 to 1,000,000,000, not {HUGE}"),
    (["run", "sleep", "--priority", "-" + HUGE, *FAIL_NOW], "--priority must be a whole number from -1,000,000,000"),
    (["run", "sleep", "--seed", "-5", *FAIL_NOW], "--seed must be a whole number from 0 to 2**63 - 1, not -5"),
    (["run", "sleep", "--seed", "99999999999999999999", *FAIL_NOW],
     "--seed must be a whole number from 0 to 2**63 - 1, not 99999999999999999999"),
    (["run", "sleep", "--set", "steps=99999999999999999999", *FAIL_NOW],
     "recipe 'sleep', parameter 'steps': 99999999999999999999 is outside the 64-bit range"),
    (["run", "sleep", "--set", "steps=-99999999999999999999", *FAIL_NOW], "outside the 64-bit range"),
    (["run", "sleep", "--grid", "steps=1,99999999999999999999", *FAIL_NOW],
     "parameter 'steps': 99999999999999999999 is outside the 64-bit range"),
    (["run", "sleep", "--reps", HUGE, "--yes", *FAIL_NOW],
     f"--reps must be a whole number from 1 to 100,000, not {HUGE}"),
    (["run", "sleep", "--grid", "steps=1,2", "--reps", "60000", "--yes", *FAIL_NOW],
     "one experiment holds at most 100,000, even with --yes"),
    (["run", "sleep", "--reps", "-1", *FAIL_NOW], "--reps must be a whole number from 1 to 100,000, not -1"),
    (["run", "sleep", "--retries", HUGE, *FAIL_NOW], f"--retries must be a whole number from 0 to 1,000, not {HUGE}"),
    (["run", "sleep", "--per-gpu", HUGE, *FAIL_NOW], f"--per-gpu must be a whole number from 1 to 1,000, not {HUGE}"),
    (["priority", "3", "999999999999999999999"],
     "the priority must be a whole number from -1,000,000,000 to 1,000,000,000, not 999999999999999999999"),
    (["priority", HUGE, "3"], f"the run id must be at most 9,223,372,036,854,775,807, not {HUGE}"),
    (["retry", HUGE], f"the run id must be at most 9,223,372,036,854,775,807, not {HUGE}"),
    (["daemon", "start", "--sample-interval", "1e300"],
     "--sample-interval must be at most 86,400 s (a day), not 1e+300"),
    (["daemon", "start", "--sample-interval", "86401"], "--sample-interval must be at most 86,400 s (a day)"),
    (["daemon", "start", "--min-free-memory", "1e300"],
     "--min-free-memory must be at most 1,048,576 MiB (1 TiB), not 1e+300"),
    (["top", "--interval", "1e300"], "--interval must be at most 86,400 s (a day), not 1e+300"),
    (["cancel", "1", "--grace", "1e300"], "--grace must be at most 86,400 s (a day), not 1e+300"),
])  # fmt: skip
def test_a_number_out_of_range_is_one_line_and_creates_nothing(home: Path, args: list[str], message: str) -> None:
    try:
        result = tuiflow(home, *args)
        assert_one_line_error(result, message)
        assert not home.exists()  # checked before a store, a daemon or a run is made
    finally:
        if home.exists():  # today's code started a daemon there: stop it
            tuiflow(home, "daemon", "stop")


def test_numbers_at_the_bounds_are_taken(home: Path) -> None:
    result = tuiflow(home, "run", "sleep", "--set", "seconds=0", "--set", "steps=1", "--set", f"exit_code={2**63 - 1}",
                     "--seed", str(2**63 - 1), "--priority", "1000000000", "--retries", "1000", "--foreground",
                     "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    (report,) = json.loads(result.stdout)
    assert report["status"] == "done" and report["config"]["exit_code"] == 2**63 - 1
    priority = tuiflow(home, "priority", str(report["id"]), "--", "-1000000000")
    assert (priority.returncode, priority.stdout) == (0, f"run {report['id']}: priority -1000000000\n")


@pytest.mark.parametrize("args", [["--tick", "1e300"], ["--sample-interval", "1e300"],
                                  ["--min-free-memory", "1e300"]])
def test_the_daemon_itself_refuses_numbers_too_large(home: Path, args: list[str]) -> None:
    home.mkdir()
    try:
        result = subprocess.run([sys.executable, "-m", "tuiflow.scheduler", "--home", str(home), *args],
                                capture_output=True, text=True, cwd=ROOT, env=env_for(home), timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the daemon served with {args}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{args[0]} must be at most" in result.stderr and "Traceback" not in result.stderr


# A wrapper that runs the command under an address-space cap (so a grid that is built anyway fails fast
# instead of swapping the machine) and reports the command's peak memory.
MEASURE = """
import json, resource, subprocess, sys, time
cap = 2 << 30
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, preexec_fn=limit)
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:],
                  "seconds": time.monotonic() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


@pytest.mark.parametrize("yes", [[], ["--yes"]])
def test_a_huge_grid_is_refused_at_once_without_being_built(home: Path, yes: list[str]) -> None:
    values = ",".join(map(str, range(1, 10_001)))
    command = [sys.executable, "-m", "tuiflow", "run", "sleep", "--grid", f"seconds={values}", "--grid",
               f"steps={values}", "--grid", f"fail_at={values}", *yes]
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=ROOT,
                         env=env_for(home), timeout=120)
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout)
    result = subprocess.CompletedProcess(command, measured["rc"], measured["stdout"], measured["stderr"])
    assert_one_line_error(result, "recipe 'sleep': the grid expands to 1,000,000,000,000 runs; one experiment holds "
                                  "at most 100,000, even with --yes: split it into smaller ones")
    assert measured["peak_mb"] < 400, measured  # the product is counted, never built
    assert time.monotonic() - started < 60  # in practice the interpreter's start; the check itself is instant
    assert not home.exists()


def test_the_limit_counts_repetitions_and_says_how_it_got_there(home: Path) -> None:
    result = tuiflow(home, "run", "sleep", "--grid", "steps=1,2,3", "--reps", "40000", "--yes")
    assert_one_line_error(result, "the grid expands to 120,000 runs (3 configs x 40,000 reps); one experiment holds "
                                  "at most 100,000, even with --yes")
    assert not home.exists()
