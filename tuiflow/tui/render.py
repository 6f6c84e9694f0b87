"""The lines the dashboard is made of, as rich Text: pure functions of the view records and a width.

Bars, sparklines, glyph sets and number formats come from `tuiflow.lab.gauges`, the copy `tuiflow top`
draws with too. Numbers are right-aligned with their units; colour only repeats what the text says.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from tuiflow.lab.gauges import Glyphs, bar, duration, level_style, percent, sparkline, styled_runs, used_of
from tuiflow.lab.profiles import slowest
from tuiflow.tui.views import DaemonView, GpuCard, HostView, ProfileLine, RunLine, Telemetry

STATUS_STYLE = {"running": "bold green", "queued": "yellow", "done": "cyan", "failed": "bold red",
                "cancelled": "magenta", "lost": "red"}


def seconds(value: float | None) -> str:
    """A span of time, short: 412ms, 12.4s, 3m05s, 2h10m."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 60:
        return f"{value:.1f}s"
    return duration(value)


def number(value: float | None) -> str:
    """A metric value, short: 0.941, 183.2, 1.2e+06."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"
    return f"{value:.2g}"


def spark(values: Sequence[float | None], width: int, glyphs: Glyphs, top: float | None = 100.0) -> Text:
    """Evenly spaced values as a sparkline `width` cells wide; `top` None scales to the values' range.
    Fewer values than cells fill the right end, one cell each (a history grows from the right), rather
    than being stretched with gaps between them."""
    if width <= 0:
        return Text()
    values = list(values)
    if len(values) < width:
        text = Text(" " * (width - len(values)))
        if values:
            text.append_text(spark(values, len(values), glyphs, top))
        return text
    if top is None:  # a metric: its own range, lowest at the bottom
        known = [v for v in values if v is not None and math.isfinite(v)]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        span = high - low or 1.0
        values = [None if v is None or not math.isfinite(v) else (v - low) / span * 100 for v in values]
        text = sparkline(list(range(len(values))), values, -0.5, len(values) - 0.5, width, glyphs, 100.0)
        text.stylize("cyan")
        return text
    return sparkline(list(range(len(values))), values, -0.5, len(values) - 0.5, width, glyphs, top)


def fit(text: str, width: int, glyphs: Glyphs) -> str:
    """`text` cut to `width` cells, marking the cut (an ellipsis, or "~" in ASCII)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + ("~" if glyphs.ascii else "…")


def param_text(value: Any) -> str:
    """A parameter's value as a cell shows it: 0.001, 64, VGG, yes/no, [3, 5]."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "-"
    return str(value)


def named_after(experiment: str, recipe: str) -> bool:
    """Whether an experiment's name is its recipe's (the default: "sleep", "sleep-2", ...)."""
    if experiment == recipe:
        return True
    rest = experiment[len(recipe):] if experiment.startswith(recipe) else ""
    return rest.startswith("-") and rest[1:].isdigit()


def home_path(path: object) -> str:
    """A path as a user reads it: under their home folder, as ~/..."""
    text = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (text == home or text.startswith(home.rstrip("/") + "/")):
        return "~" + text[len(home.rstrip("/")):]
    return text


def clock_text(now: float) -> str:
    """The wall clock, HH:MM:SS in local time."""
    return time.strftime("%H:%M:%S", time.localtime(now))


# --- the status bar ---------------------------------------------------------------------------------
def status_line(hostname: str, daemon: DaemonView | None, now: float, width: int, glyphs: Glyphs,
                exists: bool = True, simulated: bool = False, daemon_key: str = "D") -> Text:
    """tuiflow, the host, the daemon, the queue, whether the GPUs are simulated (where it fits), and the
    clock at the right edge. Without a daemon it says what that means and the key that starts one
    (`daemon_key`). What is left out when the line is short of room: hints, the host name, the counts."""
    clock = clock_text(now)
    room = max(0, width - len(clock) - 2)
    for hint, host, counts in ((True, True, True), (True, False, True), (True, False, False),
                               (False, False, True), (False, False, False)):
        text = Text.assemble((" tuiflow ", "bold"))  # a style on the word, not the line
        if host:
            text.append(f" {hostname} ", style="dim")
        if daemon is None:
            text.append("  reading...", style="dim")
        elif daemon.running:
            text.append("  daemon up", style="green")
            if counts:
                text.append(f"  {daemon.running_runs} running  {daemon.queued} queued")
            text.append("  queue paused" if daemon.paused else "  queue running",
                        style="bold yellow" if daemon.paused else "")
        else:
            text.append_text(_no_daemon(daemon, exists, hint, daemon_key, glyphs))
            if counts and (exists or daemon.queued or daemon.running_runs):
                text.append(f"  {daemon.running_runs} running  {daemon.queued} queued")
        if text.cell_len <= room:
            break
    if simulated and text.cell_len + 16 <= room:
        text.append("  simulated GPUs", style="dim")
    text.truncate(room, overflow=glyphs.overflow)
    text.append(" " * max(1, width - text.cell_len - len(clock) - 1))
    text.append(clock + " ", style="dim")
    return text


def _no_daemon(daemon: DaemonView, exists: bool, hint: bool, key: str, glyphs: Glyphs) -> Text:
    """What the status line says when no daemon serves the home: queued runs wait for one."""
    if not exists:
        return Text("  no daemon" + (" (launch starts it)" if hint else ""), style="yellow")
    if daemon.queued:
        words = f"  no daemon: queued runs will not start {glyphs.dash} press {key} to start it" if hint else \
            f"  no daemon ({key} starts it)"
        return Text(words, style="bold yellow")
    return Text(f"  no daemon ({key} starts it)" if hint else "  no daemon", style="yellow")


# --- GPUs and host ----------------------------------------------------------------------------------
def short_gpu_name(name: str | None) -> str:
    """A GPU's model without the vendor words: "NVIDIA A100-SXM4-80GB" -> "A100-SXM4-80GB"."""
    if not name:
        return "GPU"
    for word in ("NVIDIA ", "GeForce ", "Tesla "):
        name = name.replace(word, "")
    return name.strip() or "GPU"


# The GPU line's parts at a terminal's width: (from width, name, util bar, memory bar, util history).
# Below 100 columns the model's name is shown only where the GPUs are not all alike (a cluster's nodes),
# in a word ("A100"), and the memory bar is shorter: the run on the GPU needs the room more.
GPU_LAYOUTS = ((140, 14, 10, 8, 24), (100, 8, 6, 5, 12), (0, 0, 4, 3, 6))
SHORT_NAME = 4


def gpu_model(name: str | None) -> str:
    """A GPU's model in a word: "NVIDIA A100-SXM4-80GB" -> "A100", "GeForce RTX 4090" -> "4090"."""
    words = short_gpu_name(name).replace("-", " ").split()
    return next((word for word in words if any(ch.isdigit() for ch in word)), words[0] if words else "GPU")


def gpu_line(card: GpuCard, runs: Mapping[int, RunLine], width: int, glyphs: Glyphs, now: float,
             named: bool = False) -> Text:
    """One GPU on one line, each gauge named: "GPU0 util ████ 81% ▁▃▅▇▇▆ mem ▍░░ 41.2/80.0G 64°C 301W",
    the utilisation's last minute beside it, then who holds it (`gpu_holder`) right of a bar. `named`:
    the model too where the width leaves it out (the GPUs are not all alike)."""
    name_w, ubar_w, mbar_w, spark_w = next(layout[1:] for layout in GPU_LAYOUTS if width >= layout[0])
    text = Text.assemble((f"GPU{card.index:<2d}" if name_w else f"GPU{card.index}", "bold"))
    if name_w:
        name = short_gpu_name(card.name)
        if len(name) > name_w:
            name = name.split("-")[0]  # "A100-SXM4-80GB" -> "A100"
        text.append(" " + fit(name, name_w, glyphs).ljust(name_w))
    elif named:
        text.append(" " + fit(gpu_model(card.name), SHORT_NAME, glyphs).ljust(SHORT_NAME))
        mbar_w -= 1
    util = None if card.utilization is None else card.utilization / 100
    text.append(" util ", style="dim")
    text.append_text(bar(util, ubar_w, glyphs))
    text.append(" " + percent(card.utilization, 4), style=level_style(card.utilization))
    text.append(" ")
    text.append_text(spark(card.history, spark_w, glyphs))
    total, used = card.memory_total_mb, card.memory_used_mb
    text.append(" mem ", style="dim")
    text.append_text(bar(None if not total or used is None else used / total, mbar_w, glyphs))
    text.append(" " + used_of(used, total).rjust(10))
    degree = f"{glyphs.degree}C"
    text.append(" " + ("-" if card.temperature is None else f"{card.temperature:.0f}{degree}").rjust(3 + len(degree)))
    text.append(" " + ("-" if card.power_w is None else f"{card.power_w:.0f}W").rjust(4))
    text.append(" | " if glyphs.ascii else " │ ", style="dim")
    text.append_text(gpu_holder(card, runs, max(8, width - text.cell_len), glyphs, now))
    text.truncate(width, overflow=glyphs.overflow)
    return text


def busy_words(busy: str, short: str, width: int) -> str:
    """A busy GPU's words in `width` cells: "busy: other users (58.6G)", else "busy: other users" (whose
    it is matters more than how much, and a GPU's mem gauge shows the memory), else the short form."""
    plain = busy.split(" (")[0]
    return next((words for words in (busy, plain, short) if words and len(words) <= width), short or busy)


def gpu_holder(card: GpuCard, runs: Mapping[int, RunLine], width: int, glyphs: Glyphs, now: float) -> Text:
    """Who holds a GPU: "#42 train_model eta 3m05s", "free", or "busy: other users (58.6G)" when other
    users' processes hold so much of it that the daemon puts no run there (`GpuCard.busy`, its words)."""
    if not card.runs:
        if card.busy:
            return Text(fit(busy_words(card.busy, card.busy_short, width), width, glyphs), style="yellow")
        return Text("free", style="dim")
    first = runs.get(card.runs[0])
    more = f" +{len(card.runs) - 1}" if len(card.runs) > 1 else ""
    text = Text.assemble((f"#{card.runs[0]}{more}", "bold"))
    if first is not None:
        eta = f" {duration(first.eta_s)}" if first.eta_s is not None else ""
        if eta and width - text.cell_len - len(eta) >= 16:
            eta = " eta" + eta
        doing = fit(first.action or first.recipe, max(4, width - text.cell_len - len(eta) - 1), glyphs)
        text.append(" " + doing, style="cyan" if first.action else "")
        text.append(eta, style="dim")
    text.truncate(width, overflow=glyphs.overflow)
    return text


def cores_text(per_core: Sequence[float], width: int, glyphs: Glyphs) -> Text:
    """One level glyph per core (cores averaged in groups when there are more than `width`)."""
    cores = list(per_core)
    if not cores or width <= 0:
        return Text()
    group = max(1, math.ceil(len(cores) / width))
    cells = []
    for start in range(0, len(cores), group):
        chunk = cores[start:start + group]
        value = sum(chunk) / len(chunk)
        level = min(len(glyphs.levels) - 1, max(0, int(value / 100 * len(glyphs.levels))))
        cells.append((glyphs.levels[level], level_style(value)))
    return styled_runs(cells)


def host_line(host: HostView | None, width: int, glyphs: Glyphs) -> Text:
    """The host on one line: "CPU 38% (16 cores) ▂▃▅▇...   RAM 41.0/251.0G   swap 0   load 6.2", a level
    glyph per core (cores averaged in groups where they are many), and a minute of total CPU where
    the line is wide."""
    if host is None:
        return Text(" host: reading...", style="dim")
    cores = len(host.per_core)
    text = Text.assemble((" CPU ", "bold"))
    text.append(percent(host.cpu_percent, 4).strip(), style=level_style(host.cpu_percent))
    if cores:
        text.append(f" ({cores} core{'s' if cores != 1 else ''})", style="dim")
    tail = Text()
    tail.append("   RAM ", style="bold")
    tail.append(used_of(host.memory_used_mb, host.memory_total_mb))
    tail.append("   swap ", style="bold")
    swap = host.swap_used_mb or 0
    tail.append("0" if swap < 1 else used_of(swap, host.swap_total_mb))
    tail.append("   load ", style="bold")
    tail.append("-" if host.load_1 is None else f"{host.load_1:.1f}")
    room = width - text.cell_len - tail.cell_len - 2
    history = width >= 110 and bool(host.history) and room > 40
    core_w = min(cores, room - (27 if history else 0))
    if cores > 1 and core_w >= 2:  # one core's glyph would only repeat its percentage
        text.append(" ")
        text.append_text(cores_text(host.per_core, core_w, glyphs))
    text.append_text(tail)
    if history:
        text.append("   1 min ", style="dim")
        text.append_text(spark(host.history, 18, glyphs))
    text.truncate(width, overflow=glyphs.overflow)
    return text


def cpu_only_line(telemetry: Telemetry, runs: Mapping[int, RunLine], width: int, glyphs: Glyphs) -> Text:
    """What the GPU panel says on a machine without GPUs: the CPU slots runs take, and how many are busy."""
    slots = telemetry.cpu_slots
    busy = sum(1 for run in runs.values() if run.status == "running" and not run.gpus)
    text = Text.assemble((" CPU only", "bold"))
    if telemetry.simulated:  # TUIFLOW_FAKE_GPUS=0: a machine with GPUs may be pretending to have none
        text.append(" (simulated)", style="dim")
    text.append("  no GPUs here; runs take CPU slots: ")
    text.append(f"{busy} of {slots} busy" if slots else f"{busy} busy", style="bold" if busy else "")
    text.truncate(width, overflow=glyphs.overflow)
    return text


# --- runs ---------------------------------------------------------------------------------------------
def status_cell(status: str) -> Text:
    """A run's status, in words (colour repeats it)."""
    return Text(status, style=STATUS_STYLE.get(status, ""))


def progress_cell(run: RunLine, width: int, glyphs: Glyphs, plain: bool = False) -> Text:
    """A progress bar and its percentage; for a queued run what it waits for, in a word or two ("GPU
    held", "paused": the run's pane says it whole); "-" when it reports no total. `plain`: the bar
    without colours of its own (on the highlighted row, whose colours it then takes)."""
    if run.status == "queued":
        return Text(fit(run.waiting_short or "", width, glyphs).ljust(width), style="yellow")  # words: left
    fraction = run.progress
    if fraction is None:
        fraction = 1.0 if run.status == "done" else None
    if fraction is None:
        return Text("-".rjust(width), style="dim")
    text = bar(fraction, max(1, width - 5), glyphs, style="green" if run.status == "done" else "cyan")
    text.append(f"{fraction * 100:.0f}%".rjust(5))
    return Text(text.plain) if plain else text


def slowest_mark(width: int, glyphs: Glyphs) -> str:
    """How the slowest action is marked at this width: with the word when it fits, else the arrow
    alone (the panel's title then says what the arrow means)."""
    arrow = "<-" if glyphs.ascii else "◀"
    return f" {arrow} slowest" if width >= 56 else f" {arrow}"


def call_time(value: float | None, glyphs: Glyphs) -> str:
    """One call's time, short and never 0 for a call that took time: 7.9s, 12ms, 2.3ms, 85µs."""
    if value is None or not math.isfinite(value):
        return "-"
    if value >= 1e-2 or value <= 0:
        return seconds(value)
    if value >= 1e-3:
        return f"{value * 1e3:.1f}ms"
    return f"{value * 1e6:.0f}{'us' if glyphs.ascii else 'µs'}"


def profile_lines(profile: Sequence[ProfileLine], width: int, glyphs: Glyphs, current: str | None = None) -> list[Text]:
    """A run's per-action profile as a table, slowest first: action, its first call (where set-up
    lands) apart from the calls after it ("then": their mean, and their count; when wide their max
    and total too), and their share (with a bar from 56 columns); the slowest by those steady calls
    marked (none before a steady call: see `tuiflow.lab.profiles`), and the one the run is in now
    pointed at. Actions are named as every view names them (``1/load``, ``2/load`` for two pipelines)."""
    if not profile:
        return [Text("no pipeline has run in it so far", style="dim")]
    wide, barred = width >= 64, width >= 56
    cell = 7 if barred else 6
    rows = sorted(profile, key=lambda p: (-p.steady_s, -p.total_s))
    steady_total = sum(p.steady_s for p in rows)
    found = slowest(rows)
    mark = slowest_mark(width, glyphs)
    times = "x" if glyphs.ascii else "\u00d7"  # before a count of calls: "x3449" in ASCII
    fixed = 1 + 3 * cell + (2 * cell if wide else 0) + 1 + 5 + len(mark)
    bar_w = max(3, min(12, (width - fixed) // 4)) if barred else 0
    name_w = max(6, width - fixed - bar_w)
    head = Text(" " + "action".ljust(name_w) + "first".rjust(cell) + "then".rjust(cell) + "calls".rjust(cell),
                style="bold")
    if wide:
        head.append("max".rjust(cell) + "total".rjust(cell))
    head.append(" " + "share".ljust(bar_w + 5))
    lines = [head]
    for index, row in enumerate(rows):
        now = current is not None and row.action == current
        line = Text.assemble(((">" if glyphs.ascii else "▶") if now else " ", "bold cyan"))
        line.append(fit(row.name or row.action, name_w, glyphs).ljust(name_w), style="bold cyan" if now else "")
        steady = row.steady_calls > 0
        line.append(call_time(row.first_s, glyphs).rjust(cell), style="dim" if row.first_s is None else "")
        line.append((call_time(row.mean_s, glyphs) if steady else "-").rjust(cell)
                    + (f"{times}{row.steady_calls}" if steady else "-").rjust(cell))
        if wide:
            line.append((call_time(row.max_s, glyphs) if steady else "-").rjust(cell)
                        + (call_time(row.steady_s, glyphs) if steady else "-").rjust(cell))
        line.append(" ")
        if steady_total > 0:
            share = row.steady_s / steady_total
            if barred:
                line.append_text(bar(share, bar_w, glyphs))
            line.append(f"{share * 100:.0f}%".rjust(5))
        else:
            line.append(" " * bar_w + "-".rjust(5), style="dim")
        if index == found:
            line.append(mark, style="bold yellow")
        line.truncate(width, overflow=glyphs.overflow)
        lines.append(line)
    return lines
