"""The GPU layer: simulated GPUs (parsing, liveliness, processes on them) and the real NVML path without a driver."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pynvml
import pytest

from tuiflow.monitor import fake_gpus, nvml
from tuiflow.monitor.fake_gpus import (
    FakeGpuSpec,
    assign_fake_process,
    fake_processes,
    parse_fake_gpus,
    release_fake_process,
)
from tuiflow.monitor.gpus import GpuInfo, GpuProcess, GpuReport, read_gpus

# ---- parsing TUIFLOW_FAKE_GPUS -------------------------------------------------------------------


def test_a_count_makes_that_many_default_gpus():
    assert parse_fake_gpus("4") == [FakeGpuSpec()] * 4
    assert parse_fake_gpus(" 2 ") == [FakeGpuSpec()] * 2
    assert parse_fake_gpus("0") == []


def test_a_json_list_describes_each_gpu():
    specs = parse_fake_gpus('[{"memory_mb": 24576, "name": "Fake A10"}, {"memory_mb": 81920, "used_mb": 20000,'
                            ' "power_limit_w": 700, "uuid": "GPU-x"}, {}]')
    assert specs == [
        FakeGpuSpec(name="Fake A10", memory_mb=24576),
        FakeGpuSpec(memory_mb=81920, used_mb=20000, power_limit_w=700, uuid="GPU-x"),
        FakeGpuSpec(),
    ]


@pytest.mark.parametrize(("value", "problem"), [
    ("four", "not a count nor valid JSON"),
    ("-1", "between 0 and 256"),
    ("1000", "between 0 and 256"),
    ("4.5", "got a JSON float"),
    ("true", "got a JSON bool"),
    ('{"memory_mb": 1}', "got a JSON dict"),
    ("[1]", "GPU 0 is int, not an object"),
    ('[{}, {"memroy_mb": 1}]', "GPU 1: unknown key 'memroy_mb'"),
    ('[{"memory_mb": -5}]', "memory_mb must be > 0"),
    ('[{"memory_mb": "big"}]', "memory_mb must be a number"),
    ('[{"memory_mb": 1000, "used_mb": 2000}]', "used_mb 2000 is more than memory_mb 1000"),
    ('[{"name": ""}]', "name must be a non-empty string"),
    ("[{\"name\": \"a\"}\n", "not a count nor valid JSON"),
])
def test_a_bad_value_is_one_clear_line(value, problem):
    with pytest.raises(ValueError) as caught:
        parse_fake_gpus(value)
    message = str(caught.value)
    assert message.startswith("TUIFLOW_FAKE_GPUS=")
    assert problem in message
    assert "expected a GPU count like 4 or a JSON list" in message
    assert "\n" not in message


def test_read_gpus_raises_the_clear_error_for_a_bad_variable(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "lots")
    with pytest.raises(ValueError, match="TUIFLOW_FAKE_GPUS='lots'"):
        read_gpus()


# ---- fake GPUs look alive ------------------------------------------------------------------------


def test_fake_gpus_replace_nvml(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", '[{"memory_mb": 24576, "name": "Fake A10"}, {"memory_mb": 40960}]')
    report = read_gpus()
    assert report.source == "fake" and not report.cpu_only
    assert [g.index for g in report.gpus] == [0, 1]
    assert [g.name for g in report.gpus] == ["Fake A10", "Fake GPU"]
    assert [g.memory_total_mb for g in report.gpus] == [24576, 40960]
    assert report.status == "2 GPUs (simulated, TUIFLOW_FAKE_GPUS)"
    uuids = [g.uuid for g in report.gpus]
    assert len(set(uuids)) == 2 and all(u.startswith("GPU-") for u in uuids)
    assert [g.uuid for g in read_gpus().gpus] == uuids  # stable identity


def test_zero_fake_gpus_is_cpu_only(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "0")
    report = read_gpus()
    assert report.source == "fake" and report.cpu_only and report.status.startswith("CPU-only")


def test_fake_readings_vary_over_time_but_are_deterministic(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "3")
    times = [1000.0 + 3 * i for i in range(40)]
    readings = [read_gpus(now=t).gpus for t in times]
    assert [g.to_dict() for g in read_gpus(now=times[5]).gpus] == [g.to_dict() for g in readings[5]]
    for index in range(3):
        power = {r[index].power_w for r in readings}
        temperature = {r[index].temperature for r in readings}
        assert len(power) > 5 and len(temperature) > 1
    for gpus in readings:
        for gpu in gpus:
            assert 0 <= gpu.utilization <= 100
            assert 20 <= gpu.temperature <= 95
            assert 0 < gpu.power_w <= gpu.power_limit_w * 1.05


def test_a_busy_fake_gpu_works_harder_than_an_idle_one(monkeypatch, spawn_tree):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    tree = spawn_tree(children=0, grandchildren=0)
    assert assign_fake_process(tree.root, [1], memory_mb=5000)
    readings = [read_gpus(now=2000.0 + 7 * i).gpus for i in range(20)]
    idle = sum(r[0].utilization for r in readings) / 20
    busy = sum(r[1].utilization for r in readings) / 20
    assert idle < 5 < 50 < busy
    assert sum(r[1].power_w for r in readings) > sum(r[0].power_w for r in readings)


def test_another_users_memory_shows_as_used_without_a_pid(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", '[{"memory_mb": 24576, "used_mb": 20000}, {}]')
    first, second = read_gpus().gpus
    assert first.memory_used_mb == 20000 and first.processes == [] and first.memory_free_mb == 4576
    assert second.memory_used_mb == 0


# ---- processes on fake GPUs ----------------------------------------------------------------------


def test_assigned_processes_appear_with_their_memory(monkeypatch, spawn_tree):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", '[{"used_mb": 1000}, {}, {}]')
    tree = spawn_tree(children=1, grandchildren=0)
    worker = tree.children[0]
    assert assign_fake_process(tree.root, [0, 2], memory_mb=3000)
    assert assign_fake_process(worker, [2], memory_mb=512)
    gpus = read_gpus().gpus
    assert gpus[0].processes == [GpuProcess(tree.root, 3000)]
    assert gpus[0].memory_used_mb == 4000
    assert gpus[1].processes == [] and gpus[1].memory_used_mb == 0
    assert sorted(gpus[2].processes) == sorted([GpuProcess(tree.root, 3000), GpuProcess(worker, 512)])
    assert gpus[2].memory_used_mb == 3512
    assert read_gpus().process_memory() == {tree.root: 6000, worker: 512}

    release_fake_process(worker)
    assert read_gpus().gpus[2].processes == [GpuProcess(tree.root, 3000)]


def test_a_dead_process_leaves_its_gpu_without_being_released(monkeypatch, spawn_tree, tmp_path):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "1")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    tree = spawn_tree(children=1, grandchildren=0)
    assign_fake_process(tree.children[0], [0], memory_mb=100)
    assert read_gpus().gpus[0].memory_used_mb == 100
    tree.kill(tree.children[0])
    gpu = read_gpus().gpus[0]
    assert gpu.processes == [] and gpu.memory_used_mb == 0


def test_assigning_a_process_that_is_gone_says_so(spawn_tree):
    tree = spawn_tree(children=1, grandchildren=0)
    pid = tree.children[0]
    tree.kill(pid)
    assert assign_fake_process(pid, [0]) is False
    assert fake_processes() == []


def test_the_state_file_is_shared_between_processes(monkeypatch, spawn_tree, tmp_path):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    tree = spawn_tree(children=0, grandchildren=0)
    assign_fake_process(tree.root, [1], memory_mb=7000)
    state = json.loads((tmp_path / "fake_gpus.json").read_text())
    assert [(e["pid"], e["gpus"], e["memory_mb"]) for e in state["processes"]] == [(tree.root, [1], 7000)]
    code = ("import json; from tuiflow.monitor import read_gpus; "
            "print(json.dumps([g.to_dict() for g in read_gpus().gpus]))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    gpus = json.loads(other.stdout)
    assert gpus[1]["processes"] == [[tree.root, 7000]] and gpus[1]["memory_used_mb"] == 7000
    assert gpus[0]["processes"] == []


def test_a_reused_pid_is_not_mistaken_for_the_registered_process(monkeypatch, spawn_tree, tmp_path):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "1")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    tree = spawn_tree(children=0, grandchildren=0)
    created = psutil.Process(tree.root).create_time()
    # What the file holds after the registered process died and the pid went to a newer process.
    entry = {"pid": tree.root, "create_time": created - 3600, "gpus": [0], "memory_mb": 900}
    (tmp_path / "fake_gpus.json").write_text(json.dumps({"version": 1, "processes": [entry]}))
    assert read_gpus().gpus[0].processes == []


def test_a_corrupt_state_file_shows_no_processes_and_does_not_raise(monkeypatch, tmp_path):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "1")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    (tmp_path / "fake_gpus.json").write_text('{"processes": [{"pid": ')
    assert read_gpus().gpus[0].processes == []


def test_writes_prune_dead_entries(monkeypatch, spawn_tree, tmp_path):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    tree = spawn_tree(children=2, grandchildren=0)
    first, second = tree.children[:2]
    assign_fake_process(first, [0])
    tree.kill(first)
    assign_fake_process(second, [0])
    stored = json.loads((tmp_path / "fake_gpus.json").read_text())["processes"]
    assert [e["pid"] for e in stored] == [second]


# ---- the real NVML path on this machine (no driver) ---------------------------------------------


def _has_nvidia_driver() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


no_driver = pytest.mark.skipif(_has_nvidia_driver(), reason="this machine has an NVIDIA driver")


@no_driver
def test_without_a_driver_the_report_is_cpu_only_with_the_reason():
    report = read_gpus()
    assert isinstance(report, GpuReport)
    assert report.source == "none" and report.gpus == [] and report.cpu_only
    assert "NVIDIA driver" in report.reason and "NVML" in report.reason
    assert report.status.startswith("CPU-only: no NVIDIA driver")
    assert report.process_memory() == {}


@no_driver
def test_a_failed_nvml_start_is_not_retried_on_every_read(monkeypatch):
    calls = []
    real_init = pynvml.nvmlInit

    def counting_init(*args, **kwargs):
        calls.append(time.monotonic())
        return real_init(*args, **kwargs)

    monkeypatch.setattr(pynvml, "nvmlInit", counting_init)
    for _ in range(5):
        assert read_gpus().source == "none"
    assert len(calls) == 1
    monkeypatch.setattr(nvml, "RETRY_SECONDS", 0.0)
    read_gpus()
    assert len(calls) == 2


def test_without_nvidia_ml_py_the_reason_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    report = nvml.read_nvml()
    assert report.source == "none" and "nvidia-ml-py is not installed" in report.reason


class _SimulatedDriver:
    """A two-GPU driver behind pynvml's functions, where GPU 1 fails some calls (hardware we do not have)."""

    def __init__(self) -> None:
        self.inits = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from types import SimpleNamespace as NS

        def failing_on_gpu1(value):
            def call(handle, *args):
                if handle == 1:
                    raise pynvml.NVMLError_NotSupported()
                return value(handle) if callable(value) else value
            return call

        def init():
            self.inits += 1

        gib = 1024 ** 3
        calls = {
            "nvmlInit": init,
            "nvmlShutdown": lambda: None,
            "nvmlDeviceGetCount": lambda: 2,
            "nvmlDeviceGetHandleByIndex": lambda i: i,
            "nvmlDeviceGetUUID": lambda h: f"GPU-{h}".encode(),
            "nvmlDeviceGetName": lambda h: "NVIDIA H100 80GB HBM3",
            "nvmlDeviceGetMemoryInfo": lambda h: NS(total=80 * gib, used=(h + 1) * gib, free=0),
            "nvmlDeviceGetUtilizationRates": lambda h: NS(gpu=40 + h, memory=10),
            "nvmlDeviceGetTemperature": failing_on_gpu1(55),
            "nvmlDeviceGetPowerUsage": lambda h: 250_500,
            "nvmlDeviceGetEnforcedPowerLimit": lambda h: 700_000,
            "nvmlDeviceGetComputeRunningProcesses": failing_on_gpu1(
                lambda h: [NS(pid=4242, usedGpuMemory=gib), NS(pid=4343, usedGpuMemory=None)]),
            "nvmlDeviceGetGraphicsRunningProcesses": failing_on_gpu1(lambda h: [NS(pid=4242, usedGpuMemory=gib)]),
            "nvmlSystemGetDriverVersion": lambda: "550.54.15",
        }
        for name, call in calls.items():
            monkeypatch.setattr(pynvml, name, call)


def test_nvml_fields_that_fail_are_none_and_the_rest_still_come(monkeypatch):
    driver = _SimulatedDriver()
    driver.install(monkeypatch)
    report = read_gpus()
    assert report.source == "nvml" and report.driver == "550.54.15"
    assert report.status == "2 GPUs (NVML, driver 550.54.15)"
    good, bad = report.gpus
    assert good == GpuInfo(0, "GPU-0", "NVIDIA H100 80GB HBM3", 81920.0, 1024.0, 40.0, 55.0, 250.5, 700.0,
                           [GpuProcess(4242, 1024.0), GpuProcess(4343, None)])
    assert bad.temperature is None and bad.processes is None
    assert bad.memory_used_mb == 2048.0 and bad.utilization == 41.0 and bad.uuid == "GPU-1"
    assert json.dumps(bad.to_dict())
    read_gpus()
    read_gpus()
    assert driver.inits == 1  # NVML starts once per process, not per read


def test_a_gpu_whose_handle_fails_is_listed_with_only_its_index(monkeypatch):
    _SimulatedDriver().install(monkeypatch)

    def handle(index):
        if index == 1:
            raise pynvml.NVMLError_GpuIsLost()
        return index

    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", handle)
    report = read_gpus()
    assert [g.index for g in report.gpus] == [0, 1]
    assert report.gpus[1] == GpuInfo(1, processes=None)


def test_a_driver_with_no_gpus_means_cpu_only(monkeypatch):
    _SimulatedDriver().install(monkeypatch)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 0)
    report = read_gpus()
    assert report.source == "none" and report.cpu_only and "no GPUs" in report.reason


def test_fake_state_path_follows_the_variable(monkeypatch, tmp_path):
    assert fake_gpus.state_path() is None
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path))
    assert fake_gpus.state_path() == Path(tmp_path) / "fake_gpus.json"
