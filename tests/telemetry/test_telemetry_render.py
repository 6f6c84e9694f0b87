"""The pieces `tuiflow top` draws with (its gauges, and whole frames), rendered in-process on a real rich
console."""

from __future__ import annotations

import io

import pytest

from tuiflow.cli import top
from tuiflow.lab import gauges
from tuiflow.lab.telemetry import RunningRun, RunTelemetry, Snapshot
from tuiflow.monitor.gpus import GpuInfo
from tuiflow.monitor.host import HostSample

NOW = 1_700_000_000.0
UNICODE, ASCII = gauges.Glyphs.pick(False), gauges.Glyphs.pick(True)


def show(renderable, width: int = 80, height: int = 24) -> list[str]:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, height=height, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue().rstrip("\n").split("\n")


def frame(cores: int = 16, gpus: int = 4, runs: int = 3) -> top.Frame:
    host = HostSample(time=NOW, cpu_percent=40.0, per_core=[float(i * 100 // max(1, cores - 1)) for i in range(cores)],
                      memory_total_mb=64000.0, memory_used_mb=16000.0, memory_available_mb=48000.0,
                      swap_total_mb=8192.0, swap_used_mb=0.0, disk_read_bps=1.5e6, disk_write_bps=2048.0,
                      net_recv_bps=300.0, net_sent_bps=12.0, load_1=1.0, load_5=0.5, load_15=0.25)
    cards = tuple(GpuInfo(i, name="NVIDIA H100 80GB HBM3", memory_total_mb=81559.0, memory_used_mb=40000.0 * (i % 3),
                          utilization=float(30 * i % 101), temperature=60.0, power_w=400.0, power_limit_w=700.0)
                  for i in range(gpus))
    readings = {i: RunTelemetry(i, NOW, pid=1000 + i, cpu_percent=99.5, rss_mb=3000.0, gpu_memory_mb=20000.0)
                for i in range(1, runs + 1)}
    snapshot = Snapshot(now=NOW + 1, time=NOW, host=host, gpus=cards, runs=readings)
    running = [RunningRun(i, 1, f"experiment-{i}-" + "x" * 40, "a_recipe_with_a_long_name", [i % 8], 1000 + i, NOW,
                          i, 100, 3600.0 * i, readings[i]) for i in range(1, runs + 1)]
    history = ([NOW - 100 + s for s in range(0, 101, 5)], [float(s) for s in range(0, 101, 5)])
    return top.Frame(NOW + 1, "/home", 4242, snapshot, running, top._spark_width(80), history,
                     {g.index: history for g in cards})


@pytest.mark.parametrize("glyphs", [UNICODE, ASCII], ids=["unicode", "ascii"])
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (60, 20)])
def test_a_frame_fits_the_terminal(glyphs: gauges.Glyphs, size: tuple[int, int]) -> None:
    width, height = size
    lines = show(top.render(frame(cores=64, gpus=4, runs=40), width, height, glyphs), width, height)
    assert len(lines) <= height, "\n".join(lines)
    assert max(map(len, lines)) <= width
    assert lines[0].startswith("tuiflow top  daemon pid 4242  newest sample ")
    text = "\n".join(lines)
    assert "more" in text and "RUNS 40 running" in text  # the runs that do not fit are counted
    if glyphs.ascii:
        text.encode("ascii")


def test_an_80x24_frame_shows_all_gpus_and_runs() -> None:
    lines = show(top.render(frame(cores=8, gpus=2, runs=3), 80, 24, UNICODE))
    gpu = [line for line in lines if line.startswith("GPU")]
    assert len(gpu) == 2 and "39.1/79.6G" in gpu[1] and "400/700W" in gpu[1] and "60°C" in gpu[1]
    assert lines[1].startswith("CPU    40% ") and lines[1].endswith("load 1.00 0.50 0.25")
    assert lines[2].rstrip() == " 8 cores ▁ ▂ ▃ ▄ ▅ ▆ ▇ █"
    assert lines[3].startswith("MEM  █████░") and "15.6/62.5G" in lines[3] and "0.0/8.0G" in lines[3]
    assert lines[4] == "DISK read 1.4M/s write 2.0K/s   NET recv 300B/s sent 12B/s"
    rows = lines[-3:]
    for i, row in enumerate(rows, start=1):
        assert row.split()[0] == str(i) and f"{i}h00m" in row and f"  {i}%" in row and "19.5G" in row


def test_a_stale_snapshot_says_nobody_is_sampling() -> None:
    stale = frame()
    stale.now = NOW + 600
    stale.snapshot = Snapshot(now=NOW + 600, time=NOW, host=stale.snapshot.host)
    assert "not sampling: newest sample" in show(top.render(stale, 80, 24, UNICODE))[0]
    stale.daemon_pid = None
    lines = show(top.render(stale, 80, 24, ASCII))
    assert lines[0] == "no daemon: no telemetry being recorded - start it with `tuiflow daemon start`"
    assert lines[1].startswith("last sample ") and lines[1].endswith("(10m00s ago)")


def test_sparkline_places_values_by_time_and_leaves_gaps_blank() -> None:
    line = gauges.sparkline([NOW + 0.5, NOW + 9.5], [0.0, 100.0], NOW, NOW + 10, 10, UNICODE)
    assert line.plain == "▁        █"
    assert gauges.sparkline([], [], NOW, NOW + 10, 5, ASCII).plain == "     "
    assert gauges.sparkline([NOW + 5], [None], NOW, NOW + 10, 4, ASCII).plain == "    "
    assert gauges.sparkline([NOW + 1, NOW + 3], [20.0, 60.0], NOW, NOW + 10, 2, ASCII).plain == "- "


def test_bar_fills_by_fraction_with_eighths_in_unicode_only() -> None:
    assert gauges.bar(0.5, 10, UNICODE).plain == "█████░░░░░"
    assert gauges.bar(0.55, 10, UNICODE).plain == "█████▌░░░░"
    assert gauges.bar(0.55, 10, ASCII).plain == "######...."
    assert gauges.bar(1.7, 4, ASCII).plain == "####" and gauges.bar(None, 4, ASCII).plain == "...."


def test_ascii_is_chosen_from_the_stream_encoding_and_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stream:
        def __init__(self, encoding: str) -> None:
            self.encoding = encoding

    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert gauges.ascii_terminal(Stream("ascii"))
    assert not gauges.ascii_terminal(Stream("utf-8"))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert not gauges.ascii_terminal(Stream("UTF-8"))
    monkeypatch.setenv("LC_ALL", "C")  # LC_ALL wins over LANG
    assert gauges.ascii_terminal(Stream("utf-8"))
    monkeypatch.setenv("LC_ALL", "C.utf8")
    assert not gauges.ascii_terminal(Stream("utf-8"))


def test_human_units() -> None:
    assert gauges.duration(59) == "59s" and gauges.duration(3725) == "1h02m" and gauges.duration(None) == "-"
    assert gauges.duration(90061) == "1d01h"
    assert gauges.bytes_rate(512) == "512B/s" and gauges.bytes_rate(1536) == "1.5K/s" and gauges.bytes_rate(None) == "-"
    assert gauges.used_of(512, 1000) == "512/1000M" and gauges.used_of(2048, 81559) == "2.0/79.6G"
