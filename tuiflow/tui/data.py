"""The app's one door to `tuiflow.lab`: every call to `Lab` is here, and what comes back is turned into
the records of `tuiflow.tui.views`. The methods block (SQLite, files): call them from worker threads.

The Lab is opened on first use, in the first poll's worker: importing the store and the rest of the
API is most of the app's start-up, and the first frame is drawn without waiting for it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuiflow import lab
from tuiflow.tui.render import param_text
from tuiflow.tui.views import (
    DaemonView,
    EndedLine,
    GpuCard,
    GpuChoice,
    HostView,
    Launched,
    LaunchRequest,
    NodeView,
    ParamField,
    ProfileLine,
    RecipeCard,
    RunDetail,
    RunLine,
    RunsView,
    Telemetry,
)

HISTORY_S = 60.0
FIRST_READ_BYTES = 256 * 1024  # a log's first read: its last 256 KiB
LOG_KEEP = 400  # lines of a run's log kept for the dashboard's tail and the first screen of the log view


class ActionError(Exception):
    """Something `lab` refused (a cancel of a finished run, a launch it cannot place): one line to show."""


class HomeError(ActionError):
    """The home cannot be opened (a file where the folder should be, a store from a newer tuiflow...)."""


class FieldError(ActionError):
    """A parameter value a recipe cannot take: the parameter (None: the form as a whole) and why."""

    def __init__(self, param: str | None, reason: str) -> None:
        self.param = param
        self.reason = reason
        super().__init__(reason)


@dataclass
class LogTail:
    """The last lines of one run's log and where reading stopped: kept by the caller between polls."""

    run_id: int
    offset: int = 0
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    partial: str = ""

    def feed(self, text: str) -> list[str]:
        """Add newly read text; the lines it completed. A last line without its newline waits for the rest."""
        if not text:
            return []
        parts = (self.partial + text).replace("\r\n", "\n").split("\n")
        self.partial = parts.pop()
        done = [line.rsplit("\r", 1)[-1] for line in parts]  # a progress bar's redraws: its last state
        self.lines.extend(done)
        return done

    def last(self, count: int) -> tuple[str, ...]:
        """The last `count` lines, the one still being written included."""
        lines = list(self.lines)[-count:] if count > 0 else []
        if self.partial:
            lines = (lines + [self.partial])[-count:]
        return tuple(lines)


class LabData:
    """The Lab of one home, opened without creating a store: looking never makes one."""

    def __init__(self, home: str | Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._home = home
        self._lab: Any = None
        self._opening = threading.Lock()
        self._history: dict[tuple[str, str], deque[tuple[float, float | None]]] = {}
        self._varying: dict[int, tuple[str, ...]] = {}  # experiment id -> the parameters that vary in it

    @property
    def lab(self) -> Any:
        """The home's `Lab`, opened on first use (blocks: the API's import and the store's open)."""
        if self._lab is None:
            with self._opening:
                if self._lab is None:
                    self._lab = lab.open(self._home, create=False, missing_ok=True)
        return self._lab

    def open(self) -> Path:
        """Open the Lab now; its home. HomeError says why it cannot be opened."""
        try:
            return self.home
        except lab.LabError as exc:
            raise HomeError(_one_line(exc)) from None

    @property
    def opened(self) -> bool:
        """Whether the Lab is open (so `home` answers at once)."""
        return self._lab is not None

    @property
    def home(self) -> Path:
        """The home this app looks at (opens the Lab)."""
        return Path(self.lab.home)

    def version(self) -> int:
        """A number that changes whenever anything in the store changes (cheap: poll it)."""
        return self.lab.data_version()

    # --- the dashboard --------------------------------------------------------------------------------
    def daemon(self) -> DaemonView:
        """The daemon and the queue."""
        status = self.lab.daemon_status()
        if hasattr(status, "running_daemon"):  # `running` counts the running runs
            up, running = bool(status.running_daemon), int(status.running or 0)
        else:  # `running` says whether the daemon runs
            up, running = bool(status.running), int(getattr(status, "running_runs", 0) or 0)
        return DaemonView(running=up, pid=status.pid, queued=int(status.queued or 0), running_runs=running,
                          paused=bool(status.paused))

    def telemetry(self, points: int = 60) -> Telemetry:
        """The GPUs (each with a minute of utilisation and the runs holding it), the host and the daemon;
        on a cluster, every node's GPUs and a title per node."""
        now = self.clock()
        snapshot = self.lab.snapshot()
        holders: dict[Any, list[int]] = dict(self.lab.gpu_holders())
        if snapshot.multi_node:  # a cluster's GPUs are held by the runs Ray placed there, this machine's too
            holders.update({gpu["index"] if gpu.get("node") is None else (gpu["node"], gpu["index"]): gpu["runs"]
                            for gpu in self.lab.gpus()["gpus"]})
        ours = {reading.pid for reading in snapshot.runs.values() if reading.pid}
        uses = self.lab.gpu_use(snapshot.gpus_of(None), ours)  # "busy" as the daemon judges it
        problems: list[str] = []
        gpus = []
        for gpu in snapshot.gpus:
            processes = gpu.processes or []
            held = tuple(holders.get(gpu.index if gpu.node is None else (gpu.node, gpu.index), ()))
            history = self._minute(f"gpu{gpu.index}", "utilization", snapshot, now, points, problems, gpu.node)
            gpus.append(GpuCard(
                index=gpu.index, name=gpu.name, utilization=gpu.utilization, memory_used_mb=gpu.memory_used_mb,
                memory_total_mb=gpu.memory_total_mb, temperature=gpu.temperature, power_w=gpu.power_w,
                history=tuple(history), runs=held, node=gpu.node,
                foreign=sum(1 for p in processes if p.pid not in ours) if not held else 0,
                busy=_busy_words(uses, gpu.index) if gpu.node is None else "",
                busy_short=_busy_words(uses, gpu.index, short=True) if gpu.node is None else ""))
        nodes = tuple(_node_view(node, snapshot.host_of(node)) for node in snapshot.nodes) \
            if snapshot.multi_node else ()
        host = None
        if snapshot.host is not None:
            h = snapshot.host
            first = None if None in snapshot.nodes or not snapshot.nodes else snapshot.nodes[0]
            history = self._minute("host", "cpu_percent", snapshot, now, points, problems, first)
            host = HostView(cpu_percent=h.cpu_percent, per_core=tuple(h.per_core or ()),
                            memory_used_mb=h.memory_used_mb, memory_total_mb=h.memory_total_mb,
                            swap_used_mb=h.swap_used_mb, swap_total_mb=h.swap_total_mb, load_1=h.load_1,
                            history=tuple(history))
        return Telemetry(now=now, gpus=tuple(gpus), host=host, daemon=self.daemon(), simulated=snapshot.simulated,
                         cpu_slots=snapshot.cpu_slots, error=f"history: {problems[0]}" if problems else None,
                         nodes=nodes)

    def _minute(self, device: str, key: str, snapshot: Any, now: float, points: int,
                problems: list[str], node: str | None = None) -> tuple[float | None, ...]:
        """The last minute of one field of one device (of one cluster node; None: the daemon's machine)
        as `points` evenly spaced values (None: no sample then). Read from the store once; after that
        each poll adds the snapshot's newer sample, so an idle dashboard does not read a minute of
        samples per device every second."""
        from tuiflow.lab.telemetry import device_key  # the Lab is open by now: no import cost at start

        name = device_key(node, device)
        series = self._history.get((name, key))
        if series is None:
            try:
                times, values = self.lab.telemetry_series(device, key, window_s=HISTORY_S, node=node)
            except Exception as exc:  # said once per poll by the caller (Telemetry.error); read again next poll
                problems.append(_one_line(exc))
                return ()
            series = self._history[(name, key)] = deque(zip(times, values))
        sample = snapshot.devices.get(name)
        if sample is not None and (not series or sample.time > series[-1][0]):
            series.append((sample.time, _number(sample.values.get(key))))
        while series and series[0][0] < now - HISTORY_S:
            series.popleft()
        return _spread(series, now - HISTORY_S, now, points)

    def runs(self, finished: int = 20) -> RunsView:
        """Running runs, queued ones in start order, then the last `finished` that ended."""
        version = self.version()
        if not self.lab.exists:
            return RunsView(version=version, rows=(), exists=False)
        found = self.lab.dashboard_runs(finished)
        runs = [row for row in found if hasattr(row, "run")]
        missing = {row.run.experiment_id for row in runs} - self._varying.keys()
        if missing:  # an experiment's runs keep their parameters: what varies in it is read once
            self._varying.update(self.lab.varying_params(missing))
        lines: list[RunLine] = []
        ended: list[EndedLine] = []
        for row in found:
            if hasattr(row, "run"):
                lines.append(_run_line(row, self._varying.get(row.run.experiment_id, ())))
            else:
                ended.append(EndedLine(status=str(row.status), count=row.count, first_ended_at=row.first_ended_at,
                                       last_ended_at=row.last_ended_at, newest=row.newest,
                                       experiments=tuple(row.experiments), at=len(lines)))
        rows = tuple(lines)
        if any(row.status == "queued" for row in rows):  # what each waits for, in the words `tuiflow queue` says
            waits = self.lab.waiting()
            rows = tuple(dataclasses.replace(row, waiting=waits[row.id].text, waiting_short=waits[row.id].short)
                         if row.status == "queued" and row.id in waits else row for row in rows)
        return RunsView(version=version, rows=rows, ended=tuple(ended))

    def detail(self, run_id: int, tail: LogTail, points: int, lines: int, metric: str | None = None) -> RunDetail:
        """The run's profile, current action, one metric's curve (`metric`, or its first) and log tail."""
        run = self.lab.get_run(run_id)
        profile = tuple(ProfileLine.from_dict(p) for p in self.lab.profile(run_id))
        action = self.lab.current_action(run_id) if str(run.status) == "running" else None
        keys = [k for k in self.lab.metric_keys(run_id) if k != "progress"] or self.lab.metric_keys(run_id)
        key = metric if metric in keys else (keys[0] if keys else None)
        series: tuple[float | None, ...] = ()
        if key is not None:
            series = tuple(value for _, value in self.lab.metric_series(run_id, key, max_points=points))
        self.read_log(tail)
        last = next((v for v in reversed(series) if v is not None and math.isfinite(v)), None)
        return RunDetail(run_id=run_id, status=str(run.status), action=action, profile=profile, metric=key,
                         series=series, last_value=last, log_lines=tail.last(lines), log_path=run.log_path,
                         error=run.error)

    def read_log(self, tail: LogTail) -> list[str]:
        """Read what the run's log gained since the last call into `tail`; the lines it completed."""
        if tail.offset == 0 and not tail.lines and not tail.partial:  # first read: the end of a long log only
            text, offset = self.lab.read_log(tail.run_id, -FIRST_READ_BYTES)
            if offset > FIRST_READ_BYTES:  # it starts mid-line: drop that line's end
                text = text.split("\n", 1)[1] if "\n" in text else ""
        else:
            text, offset = self.lab.read_log(tail.run_id, tail.offset)
        if offset < tail.offset:  # a retry started the log again
            tail.lines.clear()
            tail.partial = ""
        tail.offset = offset
        return tail.feed(text)

    def run_line(self, run_id: int) -> RunLine:
        """One run, as the runs table shows it (no latest metrics)."""
        run = self.lab.get_run(run_id)
        return _line(run, experiment="", latest={})

    # --- acting on runs ------------------------------------------------------------------------------
    def cancel(self, run_id: int) -> int:
        """Cancel a queued or running run; how many were cancelled."""
        return _acting(lambda: self.lab.cancel([run_id]))

    def retry(self, run_id: int) -> None:
        """Queue a finished run again."""
        _acting(lambda: self.lab.retry(run_id))

    def change_priority(self, run_id: int, step: int) -> int:
        """Raise (or lower) a run's priority by `step`; the new priority."""
        def change() -> int:
            run = self.lab.get_run(run_id)
            return self.lab.set_priority(run_id, int(run.priority) + step).priority
        return _acting(change)

    def toggle_pause(self) -> bool:
        """Pause the queue, or resume it; whether it is paused now."""
        def toggle() -> bool:
            if self.lab.paused():
                self.lab.resume()
                return False
            self.lab.pause()
            return True
        return _acting(toggle)

    # --- the daemon ----------------------------------------------------------------------------------
    def start_daemon(self) -> str:
        """Start the home's daemon unless one runs (creating the store); what happened, in words."""
        started = _acting(lambda: self.lab.start_daemon())
        if not started.started:
            return f"the daemon was already up (pid {started.pid})"
        return f"daemon started (pid {started.pid}): queued runs start as GPUs free up"

    def stop_daemon(self) -> str:
        """Stop the home's daemon (its running runs go on); what happened, in words."""
        pid = _acting(lambda: self.lab.stop_daemon())
        if pid is None:
            return "no daemon was running"
        return f"daemon stopped (pid {pid}): running runs go on, queued ones wait for a daemon"

    # --- launching -----------------------------------------------------------------------------------
    def recipes(self) -> tuple[list[RecipeCard], list[str]]:
        """Every recipe found, and a line for each recipe file that failed to import."""
        cards = [RecipeCard(name=r.name, description=r.description or "", file=str(r.file),
                            params=tuple(ParamField(name=name, default=p.default, type=p.type,
                                                    choices=tuple(p.choices) if p.choices else None,
                                                    help=p.help or "", unit=p.unit or "")
                                         for name, p in r.params.items()))
                 for r in self.lab.recipes()]
        return cards, list(self.lab.problems)

    def count(self, recipe: str, overrides: dict[str, Any], grid: dict[str, list[Any]], reps: int) -> int:
        """How many runs the form's values make (up to `lab`'s hard limit: more than DEFAULT_LIMIT is the
        form's to confirm); FieldError names the parameter `lab` refuses. What the install lacks is
        `unmet`'s to say."""
        return len(_planning(lambda: self.lab.plan(recipe, overrides=overrides or None, grid=grid or None,
                                                   reps=reps, max_runs=None, check_installed=False)))

    def unmet(self, recipe: str, overrides: dict[str, Any], grid: dict[str, list[Any]],
              reps: int) -> dict[str | None, str]:
        """What the form's runs need that this install lacks (the recipe's ``requires=``), by the
        parameter it depends on: "'torch' needs pip install 'tuiflow[torch]' ..."; empty when all is there."""
        plan = _planning(lambda: self.lab.plan(recipe, overrides=overrides or None, grid=grid or None, reps=reps,
                                               max_runs=None, check_installed=False))
        found: dict[str | None, str] = {}
        for problem in self.lab.unmet(plan):
            field = _field_error(problem)
            found.setdefault(field.param, field.reason)
        return found

    def gpu_choices(self) -> list[GpuChoice]:
        """The GPUs a launch may use, with free memory, load and who holds each."""
        snapshot = self.lab.snapshot()
        holders = self.lab.gpu_holders()
        ours = {reading.pid for reading in snapshot.runs.values() if reading.pid}
        uses = self.lab.gpu_use(snapshot.gpus_of(None), ours)
        choices = []
        for gpu in snapshot.gpus_of(None):  # a cluster node's GPUs are Ray's to pick, not the form's
            held = tuple(holders.get(gpu.index, ()))
            free = None if gpu.memory_total_mb is None or gpu.memory_used_mb is None else \
                max(0.0, gpu.memory_total_mb - gpu.memory_used_mb)
            choices.append(GpuChoice(index=gpu.index, name=gpu.name, memory_free_mb=free,
                                     memory_total_mb=gpu.memory_total_mb, utilization=gpu.utilization, runs=held,
                                     foreign=0 if held else sum(1 for p in gpu.processes or [] if p.pid not in ours),
                                     busy=_busy_words(uses, gpu.index),
                                     busy_short=_busy_words(uses, gpu.index, short=True)))
        return choices

    def export_runs(self, fmt: str, folder: Path, run_ids: Iterable[int], now: float) -> tuple[Path, int]:
        """Export these runs, in this order, to ``tuiflow-export-YYYYmmdd-HHMMSS.FMT`` in `folder` (what
        the dashboard or a comparison shows); the file's path and how many runs it holds."""
        path = folder / f"tuiflow-export-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}.{fmt}"
        try:
            done = self.lab.export_selection(fmt, path, run_ids=list(run_ids))
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        return path.resolve(), done.runs

    def clone_source(self, run_id: int) -> tuple[str, dict[str, Any]]:
        """The recipe and the parameter values a run of it had, for the launch form (History's `n`)."""
        # What the install lacks is the form's to say, beside its field: it does not stop the clone.
        plan = _planning(lambda: self.lab.clone_plan(run_id, check_installed=False))
        return plan.recipe, dict(plan.base)

    def launch(self, request: LaunchRequest) -> Launched:
        """Plan and launch (starting the daemon if none runs); nothing is stored when `lab` refuses."""
        def go() -> Launched:
            plan = self.lab.plan(request.recipe, overrides=request.overrides or None, grid=request.grid or None,
                                 reps=request.reps, name=request.name or None,
                                 max_runs=None if request.confirmed else lab.DEFAULT_LIMIT)
            if request.source_run is not None:
                plan = dataclasses.replace(plan, source_run=request.source_run)
            submission = self.lab.launch(plan, gpus=list(request.gpus) if request.gpus is not None else None,
                                         num_gpus=request.num_gpus, per_gpu=request.per_gpu,
                                         priority=request.priority, retries=request.retries)
            return Launched(experiment=_experiment_name(submission), run_ids=tuple(submission.run_ids))
        return _planning(go)


# --- helpers -----------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _spread(series: Iterable[tuple[float, float | None]], start: float, end: float,
            points: int) -> tuple[float | None, ...]:
    """The values of the samples in [start, end], oldest first; more than `points` of them are merged
    into `points` equal spans of time (each span's mean; a span without samples gives no value), as
    `lab`'s telemetry series does."""
    inside = [(t, v) for t, v in series if start <= t <= end]
    if len(inside) <= points:
        return tuple(v for _, v in inside)
    sums, counts = [0.0] * points, [0] * points
    seen = [False] * points
    span = max(end - start, 1e-9) / points
    for t, value in inside:
        index = min(points - 1, int((t - start) / span))
        seen[index] = True
        if value is not None:
            sums[index] += value
            counts[index] += 1
    return tuple(total / count if count else None for total, count, any_ in zip(sums, counts, seen) if any_)


def _experiment_name(submission: Any) -> str:
    experiment = submission.experiment
    return experiment if isinstance(experiment, str) else str(getattr(experiment, "name", experiment))


def _acting(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except lab.LabError as exc:
        raise ActionError(_one_line(exc)) from None


def _field_error(exc: lab.ParamError) -> FieldError:
    reason = _one_line(exc.reason)
    if exc.param:  # "recipe 'sleep', parameter 'seconds': expected..." beside its field: "expected..."
        reason = re.sub(rf"^recipe '[^']*', parameter '{re.escape(exc.param)}': ", "", reason)
    return FieldError(exc.param, reason)


def _planning(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except lab.ParamError as exc:
        raise _field_error(exc) from None
    except lab.LabError as exc:
        raise FieldError(None, _one_line(exc)) from None


def _node_view(node: str | None, host: Any) -> NodeView:
    """A cluster node's title: its label ("this machine" for the daemon's) and its host's CPU and RAM."""
    from tuiflow.lab.telemetry import node_title

    if host is None:
        return NodeView(node=node, title=node_title(node))
    return NodeView(node=node, title=node_title(node), cpu_percent=host.cpu_percent, cores=len(host.per_core or ()),
                    memory_used_mb=host.memory_used_mb, memory_total_mb=host.memory_total_mb)


def _one_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _busy_words(uses: dict[int, Any], index: int, short: bool = False) -> str:
    """"busy: other users (58.6G)" (`short`: "busy: others 58.6G") for a GPU other users hold by the
    daemon's rule; "" otherwise."""
    use = uses.get(index)
    if use is None:
        return ""
    return use.busy_short if short else use.busy_words


def _run_line(row: Any, varying: Iterable[str] = ()) -> RunLine:
    line = _line(row.run, experiment=row.experiment or "", latest=row.latest or {})
    run = row.run
    params = tuple((key, param_text(run.rep if key == "rep" else (run.config or {}).get(key)))
                   for key in varying if key == "rep" or key in (run.config or {}))
    return dataclasses.replace(line, params=params, rep=run.rep,
                               metric=lab_dashboard().headline_metric(k for k, _ in line.latest))


def lab_dashboard() -> Any:
    """`tuiflow.lab.dashboard`, imported when the Lab is open (it brings the store)."""
    from tuiflow.lab import dashboard

    return dashboard




def _line(run: Any, experiment: str, latest: dict[str, float | None]) -> RunLine:
    return RunLine(
        id=int(run.id), experiment=experiment, recipe=run.recipe, status=str(run.status),
        priority=int(run.priority or 0), gpus=tuple(run.gpus or ()), progress_done=run.progress_done,
        progress_total=run.progress_total, eta_s=run.eta_s, started_at=run.started_at, ended_at=run.ended_at,
        action=getattr(run, "action", None), latest=_metrics(latest, run.metrics), log_path=run.log_path,
        error=run.error, config=dict(run.config or {}))


def _metrics(latest: dict[str, Any], final: dict[str, Any] | None) -> tuple[tuple[str, float | None], ...]:
    """The metrics worth a table cell: the newest values (final ones when the run ended), progress left out."""
    values = dict(latest or {})
    for key, value in (final or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[key] = float(value)
    return tuple((k, v if isinstance(v, int | float) else None) for k, v in values.items() if k != "progress")

