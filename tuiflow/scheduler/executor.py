"""The local executor: starting runner processes and recording how they ended, for the daemon (its
`LocalExecutor`) and for foreground runs alike. A runner gets its own process group (so a cancel
reaches everything it started), the GPUs it was given in CUDA_VISIBLE_DEVICES, and its log file as
stdout and stderr."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tuiflow.monitor import gpus_simulated
from tuiflow.scheduler.interface import GONE, PENDING, UNKNOWN, WORKER_LOST, Executor, Tracked
from tuiflow.store import Run, Store, process_alive, process_start_time
from tuiflow.store.owners import START_TIME_SLACK_S


def python_command(module: str, *args: str) -> list[str]:
    """Run ``module`` of tuiflow in a new interpreter that never imports from its working directory:
    `python -m` puts that first on the import path, so a folder named ``tuiflow`` there (a clone of
    the project, say) would shadow the installed package."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", module, *args]
    # Python 3.10 has no -P: -c puts "" (the working directory) first; drop it before importing.
    code = f"import runpy, sys; del sys.path[0]; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    return [sys.executable, "-c", code, *args]


def run_workdir(workdir: str | None, home: Path) -> Path:
    """Where a run executes: the folder it was submitted from, or the home when that is gone."""
    if workdir and os.path.isdir(workdir):
        return Path(workdir)
    return home


def log_path(home: Path, run_id: int) -> Path:
    """Where run ``run_id`` writes its output."""
    folder = home / "logs"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"run-{run_id}.log"


def runner_env(gpus: Sequence[int], home: Path) -> dict[str, str]:
    """The environment of a runner: GPUs by PCI bus order, only the ones it was given."""
    env = dict(os.environ)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpus)  # empty: CPU only
    # What the recipe computes on (run.device): simulated GPUs are handed out, but compute on the CPU.
    env["TUIFLOW_DEVICE"] = "cuda:0" if gpus and not gpus_simulated() else "cpu"
    env["TUIFLOW_HOME"] = str(home)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def spawn(store: Store, run_id: int, gpus: Sequence[int] = ()) -> subprocess.Popen:
    """Start ``python -m tuiflow.runner RUN_ID`` for a claimed run, in the folder it was submitted
    from, and record its process."""
    home = store.home
    path = log_path(home, run_id)
    workdir = store.get_run(run_id).workdir
    cwd = run_workdir(workdir, home)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # logs are the owner's alone
    with open(descriptor, "ab", buffering=0) as log:
        if workdir and str(cwd) != workdir:
            log.write(f"tuiflow: {workdir} (where the run was submitted) is gone: running in {cwd}\n".encode())
        process = subprocess.Popen(
            python_command("tuiflow.runner", str(run_id), "--home", str(home)),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=runner_env(gpus, home),
            start_new_session=True, close_fds=True, cwd=cwd,
        )
    store.start_run(run_id, pid=process.pid, pid_start_time=process_start_time(process.pid), gpus=list(gpus),
                    log_path=str(path), host=socket.gethostname())
    return process


def stop_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False when it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


def kill_leftovers(pid: int | None, start_time: float | None) -> None:
    """SIGKILL what is left of the process group of a runner that has ended (pid and start time).

    While a group has members its id cannot be reused as a pid; so if `pid` now names a process
    started at another time, the runner's group is empty and that group is someone else's.
    """
    import psutil

    if pid is None:
        return
    try:
        process = psutil.Process(pid)
        if start_time is not None and abs(process.create_time() - start_time) > START_TIME_SLACK_S:
            return
    except psutil.NoSuchProcess:
        pass
    except psutil.Error:
        return
    stop_group(pid, signal.SIGKILL)


def runner_gone(store: Store, run_id: int, pid: int, returncode: int | None,
                start_time: float | None = None) -> None:
    """Everything that follows a runner's end, for whoever saw it end (the daemon or a foreground
    command): its outcome recorded if it left none (`returncode` None: unknown, so lost), what is left
    of its process group killed (a child it started must not hold on to its GPUs), its GPUs freed."""
    if returncode is None:
        run = store.get_run(run_id)
        if not run.is_final:
            store.finish_run(run_id, "lost", error="its runner vanished without an outcome")
    else:
        record_exit(store, run_id, returncode)
    kill_leftovers(pid, start_time)
    store.release_gpus(run_id)


def record_exit(store: Store, run_id: int, returncode: int) -> None:
    """After a runner exited: a run it left unfinished (killed, crashed) ends as failed, with the
    signal or exit code; one it finished itself keeps its outcome."""
    run = store.get_run(run_id)
    if run.is_final:
        return
    if returncode < 0:
        name = _signal_name(-returncode)
        store.finish_run(run_id, "failed", signal=-returncode,
                         error=f"the runner was killed by {name} before it recorded an outcome")
    else:
        store.finish_run(run_id, "failed", exit_code=returncode,
                         error=f"the runner exited with code {returncode} before it recorded an outcome")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class LocalExecutor(Executor):
    """Runner processes on this machine, on the GPUs the daemon's allocator gave them."""

    name = "local"

    def start(self, store: Store, run: Run, gpus: list[int]) -> Tracked:
        """Spawn the run's runner (see `spawn`) and show its process on its simulated GPUs."""
        from tuiflow.monitor import show_run_process

        process = spawn(store, run.id, gpus)
        show_run_process(process.pid, gpus)
        return Tracked(run.id, process.pid, process_start_time(process.pid), gpus, process)

    def ended(self, tracked: Sequence[Tracked]) -> dict[int, int]:
        """The runners that have exited, with their exit codes."""
        codes = {}
        for item in tracked:
            code = item.exited()
            if code is not None:
                codes[item.run_id] = code
        return codes

    def cancel(self, tracked: Tracked, force: bool) -> None:
        """SIGTERM (``force``: SIGKILL) to the runner's process group."""
        if tracked.pid is not None:
            stop_group(tracked.pid, signal.SIGKILL if force else signal.SIGTERM)

    def settle(self, store: Store, tracked: Tracked, code: int) -> None:
        """See `runner_gone`."""
        from tuiflow.monitor import forget_run_process

        if tracked.pid is not None:
            forget_run_process(tracked.pid)
        runner_gone(store, tracked.run_id, tracked.pid or 0, None if code in (UNKNOWN, WORKER_LOST) else code,
                    tracked.start_time)

    def adopt(self, store: Store, run: Run) -> Tracked | str:
        """Its runner, when that process lives on."""
        if run.pid is None:
            return PENDING  # the runner may be starting still (it records itself)
        if process_alive(run.pid, run.pid_start_time):
            return Tracked(run.id, run.pid, run.pid_start_time, list(run.gpus or []))
        return GONE

    def bury(self, store: Store, run: Run) -> None:
        """Kill what the vanished runner started, free its GPUs."""
        kill_leftovers(run.pid, run.pid_start_time)
        store.release_gpus(run.id)
