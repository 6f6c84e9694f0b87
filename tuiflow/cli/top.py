"""``tuiflow top``: a live view of the host, the GPUs and the running runs, for an 80x24 SSH terminal.

It reads only what the home's store holds, through `tuiflow.lab.Lab` (the daemon's telemetry samples
and the runs), so it shows what the daemon records and costs the machine nothing but a few indexed
queries per refresh. Bars and sparklines (see `tuiflow.lab.gauges`) use Unicode block characters, or
ASCII where the terminal's encoding is not UTF-8.

On a Ray cluster (telemetry of several nodes in the store) each node gets a title line, its CPU and
memory lines and its GPUs; one machine looks as it always did. `gpus_lines` is `tuiflow gpus`'s text,
grouped by node the same way.
"""

from __future__ import annotations

import json
import math
import os
import select
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from tuiflow.cli.app import MAX_SECONDS, HomeOption, app, check_at_most, fail, open_lab
from tuiflow.lab.gauges import (
    Glyphs,
    ascii_terminal,
    bar,
    bytes_rate,
    duration,
    level_style,
    mib,
    percent,
    sparkline,
    used_of,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

    from tuiflow.lab import Lab, RunningRun, Snapshot

HISTORY_S = 120.0  # the span of the sparklines
NO_DAEMON = "no daemon: no telemetry being recorded {dash} start it with `tuiflow daemon start`"
NO_SAMPLES = "no telemetry samples in {home} yet: start the daemon with `tuiflow daemon start`"
WAITING = "no telemetry samples in {home} yet: the daemon (pid {pid}) records its first within a second or two"


# --- one frame ---------------------------------------------------------------------------------------
@dataclass
class Frame:
    """Everything one refresh shows, read from the store at `now`."""

    now: float
    home: str
    daemon_pid: int | None
    snapshot: Snapshot
    runs: list[RunningRun]
    spark_width: int
    cpu_history: tuple[list[float], list[float | None]] = ([], [])
    # Keyed by GPU index on the daemon's machine, by (node, index) on a cluster node.
    gpu_history: dict[Any, tuple[list[float], list[float | None]]] = field(default_factory=dict)
    node_cpu_history: dict[str, tuple[list[float], list[float | None]]] = field(default_factory=dict)

    def gpu_series(self, gpu: Any) -> tuple[list[float], list[float | None]]:
        """The utilisation history of one GPU (empty when none was read)."""
        return self.gpu_history.get(gpu.index if gpu.node is None else (gpu.node, gpu.index), ([], []))

    def cpu_series(self, node: str | None) -> tuple[list[float], list[float | None]]:
        """The CPU history of one node (None: the daemon's machine, or the one machine there is)."""
        if node is None or not self.snapshot.multi_node:
            return self.cpu_history
        return self.node_cpu_history.get(node, ([], []))


def _spark_width(width: int) -> int:
    # What is left of a GPU line once its fixed parts are laid out (see _gpu_line).
    return max(8, min(40, width - 50))


def collect(home_lab: Lab, width: int, now: float | None = None) -> Frame:
    """Read one frame's worth of telemetry and runs."""
    now = time.time() if now is None else now
    snapshot = home_lab.telemetry(now=now)
    spark = _spark_width(width)
    frame = Frame(now, str(home_lab.home), home_lab.daemon_pid(), snapshot, home_lab.running_runs(snapshot), spark)
    if snapshot.empty:
        return frame
    start = now - HISTORY_S
    # The same span and columns as the sparklines, so each column gets at most one point.
    nodes = snapshot.nodes
    first = None if None in nodes or not nodes else nodes[0]  # one cluster node alone is drawn as one machine
    frame.cpu_history = home_lab.telemetry_series("host", "cpu_percent", since=start, until=now, max_points=spark,
                                                  node=first)
    if snapshot.multi_node:
        for node in nodes:
            if node is not None:
                frame.node_cpu_history[node] = home_lab.telemetry_series(
                    "host", "cpu_percent", since=start, until=now, max_points=spark, node=node)
    for gpu in snapshot.gpus:
        key = gpu.index if gpu.node is None else (gpu.node, gpu.index)
        frame.gpu_history[key] = home_lab.telemetry_series(gpu.device, "utilization", since=start, until=now,
                                                           max_points=spark, node=gpu.node)
    return frame


def _line(*parts: str | Text | tuple[str, str]) -> Text:
    from rich.text import Text

    text = Text(no_wrap=True, overflow="crop")
    for part in parts:
        if isinstance(part, tuple):
            text.append(part[0], style=part[1])
        else:
            text.append(part)
    return text


def _header(frame: Frame, glyphs: Glyphs) -> list[Text]:
    snapshot = frame.snapshot
    sampled = ""
    if snapshot.time is not None:
        sampled = (f"newest sample {time.strftime('%H:%M:%S', time.localtime(snapshot.time))} "
                   f"({duration(snapshot.age_s)} ago)")
    if frame.daemon_pid is None:
        lines = [_line((NO_DAEMON.format(dash=glyphs.dash), "bold yellow"))]
        if sampled:
            lines.append(_line((sampled.replace("newest", "last"), "dim")))
        return lines
    head = _line(("tuiflow top", "bold"), f"  daemon pid {frame.daemon_pid}  ")
    if snapshot.time is None:
        head.append("waiting for the first sample", style="yellow")
    elif snapshot.is_stale():
        head.append(f"not sampling: {sampled}", style="bold red")
    else:
        head.append(sampled)
    return [head]


def _host_lines(frame: Frame, width: int, glyphs: Glyphs) -> list[Text]:
    host = frame.snapshot.host
    if host is None:
        return [_line(("CPU  no host sample", "dim"))]
    load = "" if host.load_1 is None else f"  load {host.load_1:.2f} {host.load_5:.2f} {host.load_15:.2f}"
    # Laid out like a GPU line, so the sparklines line up in one column.
    lines = [_line(("CPU".ljust(5), "bold"), " ", (percent(host.cpu_percent), level_style(host.cpu_percent)), " ",
                   sparkline(*frame.cpu_history, frame.now - HISTORY_S, frame.now, frame.spark_width, glyphs), load)]
    cores = host.per_core or []
    if cores:
        label = f"{len(cores)} core{'s' if len(cores) != 1 else ''} "
        room = max(8, width - len(label) - 1)
        step = 2 if len(cores) * 2 <= room else 1
        per_line = max(1, room // step)
        for first in range(0, len(cores), per_line):
            text = _line(" " + (label if first == 0 else " " * len(label)))
            for value in cores[first:first + per_line]:
                level = min(len(glyphs.levels) - 1, int((value or 0) / 100 * len(glyphs.levels)))
                text.append(glyphs.levels[level] + " " * (step - 1), style=level_style(value))
            lines.append(text)
    memory = None if not host.memory_total_mb else (host.memory_used_mb or 0) / host.memory_total_mb
    swap = None if not host.swap_total_mb else (host.swap_used_mb or 0) / host.swap_total_mb
    lines.append(_line(("MEM  ", "bold"), bar(memory, 20, glyphs), " ",
                       used_of(host.memory_used_mb, host.memory_total_mb).ljust(12),
                       ("SWAP ", "bold"), bar(swap, 10, glyphs), " ",
                       used_of(host.swap_used_mb, host.swap_total_mb) if host.swap_total_mb else "none"))
    lines.append(_line(("DISK ", "bold"), f"read {bytes_rate(host.disk_read_bps)} write "
                       f"{bytes_rate(host.disk_write_bps)}   ", ("NET ", "bold"),
                       f"recv {bytes_rate(host.net_recv_bps)} sent {bytes_rate(host.net_sent_bps)}"))
    return lines


def _node_lines(frame: Frame, width: int, glyphs: Glyphs) -> list[Text]:
    """On a cluster: per node, a title line, its CPU and memory, and its GPUs."""
    from tuiflow.lab.telemetry import node_title

    snapshot = frame.snapshot
    lines: list[Text] = []
    for node in snapshot.nodes:
        gpus = snapshot.gpus_of(node)
        title = f"{glyphs.dash * 2} {node_title(node)} "
        count = f" {len(gpus)} GPU{'s' if len(gpus) != 1 else ''} " if gpus else " no GPU "
        lines.append(_line((title, "bold cyan"), (count, "dim"),
                           (glyphs.dash * max(0, width - len(title) - len(count)), "dim")))
        host = snapshot.host_of(node)
        if host is None:
            lines.append(_line(("CPU  no host sample", "dim")))
        else:
            load = "" if host.load_1 is None else f"  load {host.load_1:.2f}"
            memory = None if not host.memory_total_mb else (host.memory_used_mb or 0) / host.memory_total_mb
            cores = f"  {len(host.per_core)} cores" if host.per_core else ""
            cpu = (percent(host.cpu_percent), level_style(host.cpu_percent))
            spark = sparkline(*frame.cpu_series(node), frame.now - HISTORY_S, frame.now, frame.spark_width, glyphs)
            lines.append(_line(("CPU".ljust(5), "bold"), " ", cpu, " ", spark, cores, load))
            lines.append(_line(("MEM  ", "bold"), bar(memory, 20, glyphs), " ",
                               used_of(host.memory_used_mb, host.memory_total_mb)))
        lines += [_gpu_line(frame, gpu, width, glyphs) for gpu in gpus]
    return lines


def _gpu_line(frame: Frame, gpu: Any, width: int, glyphs: Glyphs) -> Text:
    times, values = frame.gpu_series(gpu)
    memory = (None if not gpu.memory_total_mb or gpu.memory_used_mb is None
              else gpu.memory_used_mb / gpu.memory_total_mb)
    temperature = "-" if gpu.temperature is None else f"{gpu.temperature:.0f}{glyphs.degree}C"
    power = "-" if gpu.power_w is None else (f"{gpu.power_w:.0f}W" if gpu.power_limit_w is None
                                             else f"{gpu.power_w:.0f}/{gpu.power_limit_w:.0f}W")
    text = _line((f"GPU{gpu.index}".ljust(5), "bold"), " ", (percent(gpu.utilization), level_style(gpu.utilization)),
                 " ", sparkline(times, values, frame.now - HISTORY_S, frame.now, frame.spark_width, glyphs), " ",
                 bar(memory, 10, glyphs), " ", used_of(gpu.memory_used_mb, gpu.memory_total_mb).rjust(10), " ",
                 temperature.rjust(5), " ", power.rjust(9))
    if gpu.name and text.cell_len + 2 + len(gpu.name) <= width:
        text.append("  " + gpu.name, style="dim")
    return text


_RUN_COLUMNS = (("id", "right"), ("experiment", "left"), ("recipe", "left"), ("done", "right"), ("eta", "right"),
                ("cpu%", "right"), ("rss", "right"), ("gmem", "right"), ("gpus", "left"))
_FLEXIBLE = (1, 2)  # experiment and recipe share what the other columns leave


def _share(natural: list[int], room: int) -> list[int]:
    """Widths for columns wanting `natural` cells in `room`: the narrow ones whole, the rest split evenly."""
    widths = [0] * len(natural)
    order = sorted(range(len(natural)), key=lambda i: natural[i])
    for position, i in enumerate(order):
        widths[i] = max(1, min(natural[i], room // (len(order) - position)))
        room -= widths[i]
    return widths


def _run_cells(run: RunningRun) -> list[str]:
    t = run.telemetry
    progress = run.progress
    done = f"{progress * 100:.0f}%" if progress is not None else (str(run.progress_done or "") or "-")
    return [str(run.id), run.experiment or "-", run.recipe, done, duration(run.eta_s),
            "-" if t is None or t.cpu_percent is None else f"{t.cpu_percent:.0f}",
            mib(None if t is None else t.rss_mb), mib(None if t is None else t.gpu_memory_mb),
            ",".join(map(str, run.gpus)) or "cpu"]


def _runs_table(frame: Frame, width: int, rows: int, glyphs: Glyphs) -> list[RenderableType]:
    from rich import box
    from rich.table import Table

    runs = frame.runs
    if not runs:
        return [_line(("RUNS ", "bold"), ("none running", "dim"))]
    shown = runs if len(runs) <= rows else runs[:max(0, rows - 1)]
    cells = [_run_cells(run) for run in shown]
    if len(shown) < len(runs):
        cells.append(["", f"+{len(runs) - len(shown)} more", "", "", "", "", "", "", ""])
    natural = [max(len(name), *(len(row[i]) for row in cells)) for i, (name, _) in enumerate(_RUN_COLUMNS)]
    # Two cells of padding and divider between columns, none at the edges.
    room = width - 2 * (len(natural) - 1) - sum(w for i, w in enumerate(natural) if i not in _FLEXIBLE)
    for i, fitted in zip(_FLEXIBLE, _share([natural[i] for i in _FLEXIBLE], room)):
        natural[i] = fitted
    table = Table(box=_ascii_simple_head() if glyphs.ascii else box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1), collapse_padding=True, header_style="bold")
    for (name, justify), column_width in zip(_RUN_COLUMNS, natural):
        table.add_column(name, justify=justify, no_wrap=True, overflow=glyphs.overflow,  # type: ignore[arg-type]
                         width=column_width)
    for row in cells:
        table.add_row(*row)
    return [_line(("RUNS ", "bold"), f"{len(runs)} running"), table]


# rich swaps any non-ASCII box for its ASCII grid (with column bars) on an ASCII console; keep the look.
_ASCII_SIMPLE_HEAD_LINES = "    \n    \n -- \n    \n    \n    \n    \n    \n"


def _ascii_simple_head() -> Any:
    from rich.box import Box

    return Box(_ASCII_SIMPLE_HEAD_LINES, ascii=True)


def render(frame: Frame, width: int, height: int, glyphs: Glyphs) -> RenderableType:
    """One screen of `tuiflow top`, fitted to width x height where the terminal allows."""
    from rich.console import Group

    parts: list[RenderableType] = list(_header(frame, glyphs))
    if frame.snapshot.multi_node:
        parts += _node_lines(frame, width, glyphs)
    elif not frame.snapshot.empty:
        parts += _host_lines(frame, width, glyphs)
        parts += [_gpu_line(frame, gpu, width, glyphs) for gpu in frame.snapshot.gpus]
    # Title line, column header and the rule under it, then one line per run.
    rows = max(1, height - len(parts) - 3)
    parts += _runs_table(frame, width, rows, glyphs)
    return Group(*parts)


def gpus_lines(report: dict[str, Any]) -> list[str]:
    """`tuiflow gpus`'s text for `Lab.gpus()`'s report: the status line and a line per GPU, under a
    title line per node when cluster nodes are in it."""
    nodes = report.get("nodes") or [{"node": None, "status": report["status"]}]
    if len(nodes) <= 1:
        return [report["status"], *(_gpu_text(gpu) for gpu in report["gpus"])]
    from tuiflow.lab.telemetry import node_title

    lines = []
    for node in nodes:
        host = node.get("host") or {}
        extra = ""
        if host.get("cpu_percent") is not None:
            extra += f"  CPU {host['cpu_percent']:.0f}%" + (f" of {host['cores']} cores" if host.get("cores") else "")
        if host.get("memory_total_mb"):
            extra += f"  RAM {host.get('memory_used_mb') or 0:,.0f}/{host['memory_total_mb']:,.0f} MiB"
        lines.append(f"{node_title(node['node'])}: {node['status']}{extra}")
        lines += [_gpu_text(gpu) for gpu in report["gpus"] if gpu.get("node") == node["node"]]
    return lines


def _gpu_text(gpu: dict[str, Any]) -> str:
    used, total = gpu.get("memory_used_mb"), gpu.get("memory_total_mb")
    memory = f"{used:,.0f}/{total:,.0f} MiB" if used is not None and total is not None else "memory ?"
    util = f"{gpu['utilization']}%" if gpu.get("utilization") is not None else "?"
    runs = ", ".join(map(str, gpu["runs"])) or "-"
    busy = f"  {gpu['busy']}" if gpu.get("busy") else ""  # other users' processes, by the daemon's rule
    return f"  gpu{gpu['index']}  {gpu.get('name')}  {memory}  util {util}  runs {runs}{busy}"


def _make_console() -> tuple[Console, Glyphs]:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    return console, Glyphs.pick(ascii_terminal(console.file))


@app.command("top")
def top_command(
    home: str = HomeOption,
    interval: float = typer.Option(1.0, "--interval", help="Seconds between refreshes (0.1 to a day)."),
    once: bool = typer.Option(False, "--once", help="Print one frame and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print the newest telemetry as JSON and exit."),
) -> None:
    """Live host, GPU and run telemetry, in the spirit of nvitop and btop (q or Ctrl-C quits)."""
    if not math.isfinite(interval) or interval < 0.1:
        fail(f"--interval must be at least 0.1 s, not {interval}")
    check_at_most("--interval", interval, MAX_SECONDS, "s (a day)")
    home_lab = open_lab(home)
    if as_json:
        daemon_pid = home_lab.daemon_pid()
        snapshot = home_lab.telemetry()
        typer.echo(json.dumps({"home": str(home_lab.home), "daemon_pid": daemon_pid, **snapshot.to_dict()}, indent=2))
        return
    console, glyphs = _make_console()
    try:
        frame = collect(home_lab, console.width)
        if frame.snapshot.empty and (once or frame.daemon_pid is None):
            message = (NO_SAMPLES if frame.daemon_pid is None else WAITING).format(home=home_lab.home,
                                                                                   pid=frame.daemon_pid)
            typer.echo(message.encode("ascii", "replace").decode() if glyphs.ascii else message)
        elif once:
            console.print(render(frame, console.width, console.height, glyphs))
        else:
            _live(home_lab, console, glyphs, interval, frame)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a user leaves a live view: not an error


def _live(home_lab: Lab, console: Console, glyphs: Glyphs, interval: float, frame: Frame) -> None:
    from rich.live import Live

    with _Keys() as keys, Live(console=console, screen=console.is_terminal, auto_refresh=False,
                               transient=False) as live:
        deadline = time.monotonic()
        while True:
            live.update(render(frame, console.width, console.height, glyphs), refresh=True)
            # Refresh on a fixed grid; a slow read skips ahead rather than piling up.
            deadline += interval
            pause = deadline - time.monotonic()
            if pause < 0:
                deadline = time.monotonic()
                pause = 0
            if keys.quit_within(pause):
                return
            frame = collect(home_lab, console.width)


class _Keys:
    """Keys typed while the live view waits, so `q` quits as in top and htop. The terminal goes into
    cbreak mode (keys come one at a time, unechoed; Ctrl-C still interrupts) and is restored on exit.
    Where stdin is not a terminal (a pipe, a file), waiting is only waiting."""

    QUIT = frozenset(b"qQ")

    def __init__(self) -> None:
        self.fd: int | None = None
        self.saved: list[Any] | None = None
        self.reading = False

    def __enter__(self) -> _Keys:
        try:
            import termios
            import tty
        except ImportError:  # not POSIX: no keys, Ctrl-C still quits
            return self
        try:
            if sys.stdin is not None and sys.stdin.isatty():
                fd = sys.stdin.fileno()
                self.saved = termios.tcgetattr(fd)
                tty.setcbreak(fd)
                self.fd, self.reading = fd, True
        except (termios.error, OSError, ValueError):  # stdin closed, or not a terminal after all
            self.fd, self.reading = None, False
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass  # the terminal is gone (hangup): nothing left to restore

    def quit_within(self, seconds: float) -> bool:
        """Wait ``seconds``; True as soon as `q` is typed."""
        deadline = time.monotonic() + seconds
        while True:
            left = max(0.0, deadline - time.monotonic())
            if not self.reading or self.fd is None:
                time.sleep(left)
                return False
            if select.select([self.fd], [], [], left)[0]:
                try:
                    typed = os.read(self.fd, 64)
                except OSError:
                    typed = b""
                if not typed:  # the terminal hung up: nothing more will be typed
                    self.reading = False
                elif self.QUIT & set(typed):
                    return True
            elif not left:
                return False
