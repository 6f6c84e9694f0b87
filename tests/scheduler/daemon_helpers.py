"""A tuiflow home with a real daemon, real runners and the real CLI, for the reliability tests.

Every `Lab` owns one home under the test's tmp_path. Its daemons are started as
``python -m tuiflow.scheduler --home H --tick T`` (or through the CLI), its runs are submitted through
the lab API or the CLI, and at the end `cleanup` stops the daemon and kills, by process group, every
process that belongs to the home (daemons, runners, the children a recipe spawned), so nothing leaks
into the next test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

from tuiflow import lab
from tuiflow.scheduler.identity import LOG_NAME, read_info
from tuiflow.store import Run, Store

REPO = Path(__file__).resolve().parents[2]
TEST_RECIPES = Path(__file__).resolve().parent / "recipes"  # "gated": a run that goes on while told to
TICK_S = 0.05
FAKE_GPUS = "2"


def lab_in(tmp_path: Path, monkeypatch: Any, cpu_slots: int) -> Iterator[Lab]:
    """A fixture body: a Lab on a home of the test's own, cleaned up after it."""
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "home"))
    lab = Lab(tmp_path / "home", cpu_slots=cpu_slots)
    yield lab
    lab.cleanup()


class Lab:
    """One home: its store, its daemon, its CLI, and the cleanup of everything it started."""

    def __init__(self, home: Path, *, cpu_slots: int = 2, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.env = dict(os.environ)
        self.env.update({
            "TUIFLOW_HOME": str(home),
            "TUIFLOW_FAKE_GPUS": FAKE_GPUS,
            "TUIFLOW_FAKE_GPUS_STATE": str(home / "fake-gpus"),
            "TUIFLOW_CPU_SLOTS": str(cpu_slots),
            "TUIFLOW_REPORT_INTERVAL": "0.2",
            "PYTHONUNBUFFERED": "1",
        })
        self.env.update(env or {})
        self.store = Store.open(home)
        self.daemons: list[subprocess.Popen] = []
        self._catalog: Any = None

    # --- the daemon ------------------------------------------------------------------------------
    def spawn_daemon(self, tick: float = TICK_S, *extra: str) -> subprocess.Popen:
        """Start ``python -m tuiflow.scheduler`` for this home, its output appended to daemon.log."""
        with open(self.home / LOG_NAME, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tuiflow.scheduler", "--home", str(self.home), "--tick", str(tick), *extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO,
                start_new_session=True,
            )
        self.daemons.append(process)
        return process

    def start_daemon(self, tick: float = TICK_S, *extra: str) -> subprocess.Popen:
        """Start the daemon and wait until it serves (its record names its pid)."""
        process = self.spawn_daemon(tick, *extra)
        self.wait_until(lambda: (info := read_info(self.home)) is not None and info.pid == process.pid,
                        15, f"daemon {process.pid} to take the home", process=process)
        return process

    def daemon_pid(self) -> int | None:
        """The pid the home's daemon record gives, or None when no daemon runs."""
        info = read_info(self.home)
        return None if info is None else info.pid

    def kill_daemon(self, process: subprocess.Popen | None = None) -> None:
        """``kill -9`` the daemon (only it: its runners are in process groups of their own)."""
        process = process or self.daemons[-1]
        process.kill()
        process.wait(10)

    def stop_daemon(self, process: subprocess.Popen | None = None) -> int:
        """SIGTERM the daemon and wait for it; its exit code."""
        process = process or self.daemons[-1]
        process.terminate()
        return process.wait(20)

    def daemon_log(self) -> str:
        """Everything the home's daemons wrote."""
        path = self.home / LOG_NAME
        return path.read_text(errors="replace") if path.exists() else ""

    # --- submitting and reading ------------------------------------------------------------------
    def submit(self, recipe: str = "sleep", *, sets: Sequence[str] = (), grids: Sequence[str] = (), reps: int = 1,
               name: str | None = None, gpus: int = 0, gpus_allowed: list[int] | None = None, per_gpu: int = 1,
               priority: int = 0, retries: int = 0) -> list[Run]:
        """Queue an experiment through the lab API (what ``tuiflow run --detach`` does, without a
        CLI start-up per call); CPU-only unless ``gpus``."""
        if self._catalog is None:
            self._catalog = lab.recipe_catalog([TEST_RECIPES])
        submission = lab.submit(self.store, self._catalog.get(recipe), sets=list(sets), grids=list(grids),
                                reps=reps, name=name, gpus=gpus, gpus_allowed=gpus_allowed, per_gpu=per_gpu,
                                priority=priority, retries=retries)
        return submission.runs

    def gate(self, name: str) -> Path:
        """A gate file for the "gated" recipe (``sets=[f"gate={path}"]``): its runs go on while it exists;
        ``path.unlink()`` lets them end."""
        path = self.home.parent / f"gate-{name}"
        path.touch()
        return path

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """``tuiflow ARGS --home H`` in a subprocess; output as text."""
        result = subprocess.run([sys.executable, "-m", "tuiflow", *args, "--home", str(self.home)],
                                capture_output=True, text=True, env=self.env, cwd=REPO, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"tuiflow {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def run(self, run_id: int) -> Run:
        """The run as the store has it now."""
        return self.store.get_run(run_id)

    def runs(self, ids: Iterable[int] | None = None) -> list[Run]:
        """Every run of the home (or these), in id order."""
        runs = self.store.list_runs()
        if ids is None:
            return runs
        wanted = set(ids)
        return [r for r in runs if r.id in wanted]

    def log(self, run_id: int) -> bytes:
        """The raw bytes of a run's log file."""
        return (self.home / "logs" / f"run-{run_id}.log").read_bytes()

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str,
                   process: subprocess.Popen | None = None, poll_s: float = 0.05) -> Any:
        """Poll ``predicate`` until it is truthy; fail naming ``what`` (and the daemon's log) when it is not."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if process is not None and process.poll() is not None:
                raise AssertionError(f"waiting for {what}: process {process.pid} exited {process.returncode}\n"
                                     f"daemon log:\n{self.daemon_log()}")
            if time.monotonic() > deadline:
                states = {r.id: r.status for r in self.store.list_runs()}
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; runs: {states}\n"
                                     f"daemon log:\n{self.daemon_log()[-4000:]}")
            time.sleep(poll_s)

    def wait_status(self, run_id: int, statuses: str | Sequence[str], timeout: float = 30) -> Run:
        """Wait until run ``run_id`` is in one of ``statuses``; return it."""
        wanted = (statuses,) if isinstance(statuses, str) else tuple(statuses)

        def reached() -> Run | None:
            run = self.run(run_id)
            return run if run.status in wanted else None

        return self.wait_until(reached, timeout, f"run {run_id} to be {'/'.join(wanted)}")

    def wait_all_final(self, ids: Iterable[int], timeout: float = 60) -> list[Run]:
        """Wait until every run of ``ids`` has ended; return them."""
        ids = list(ids)

        def ended() -> list[Run] | None:
            runs = self.runs(ids)
            return runs if all(r.is_final for r in runs) else None

        return self.wait_until(ended, timeout, f"runs {ids[0]}..{ids[-1]} to end")

    def wait_metric(self, run_id: int, key: str, count: int, timeout: float = 30) -> int:
        """Wait until ``count`` values of metric ``key`` of a run are in the store; how many are."""
        return self.wait_until(lambda: len(self.store.metric_series(run_id, key)) >= count and
                               len(self.store.metric_series(run_id, key)), timeout,
                               f"{count} values of {key!r} of run {run_id} in the store")

    # --- cleanup ---------------------------------------------------------------------------------
    def processes(self) -> list[psutil.Process]:
        """Live processes that belong to this home: its daemons, runners and their children (found by
        their TUIFLOW_HOME or a ``--home`` naming this home)."""
        mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
        found = []
        for process in psutil.process_iter(["pid", "cmdline", "status"]):
            if process.pid in mine or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            try:
                cmdline = process.info["cmdline"] or []
                if str(self.home) in cmdline or process.environ().get("TUIFLOW_HOME") == str(self.home):
                    found.append(process)
            except psutil.Error:
                continue
        return found

    def kill_group_of(self, pid: int) -> None:
        """SIGKILL the process group led by (or holding) ``pid``, never the test's own group."""
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return
        try:
            if group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def cleanup(self) -> None:
        """Stop the daemons, then kill every process group the home still has; close the store."""
        for process in self.daemons:
            if process.poll() is None:
                process.terminate()
        for process in self.daemons:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for _ in range(3):
            leftovers = self.processes()
            if not leftovers:
                break
            for process in leftovers:
                self.kill_group_of(process.pid)
            psutil.wait_procs(leftovers, timeout=5)
        self.store.close()


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_gone(pids: Iterable[int], timeout: float = 10) -> list[int]:
    """Wait until none of ``pids`` is alive; the ones still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    pids = list(pids)
    while True:
        living = [pid for pid in pids if alive(pid)]
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.05)


def runner_line(log: bytes) -> str:
    """The runner's first log line (it names the run, its pid and CUDA_VISIBLE_DEVICES)."""
    for line in log.decode("utf-8", "replace").splitlines():
        if line.startswith("tuiflow runner: run "):
            return line
    raise AssertionError(f"no runner line in the log:\n{log[-2000:]!r}")


def overlaps(a: Run, b: Run) -> bool:
    """Whether two runs were running at the same time (from their store times)."""
    assert a.started_at and a.ended_at and b.started_at and b.ended_at
    return a.started_at < b.ended_at and b.started_at < a.ended_at
