"""Models on several devices: the device list is checked, and a CPU list really splits each batch.

No GPU here: torch's split is tested on CPU replicas (the same config as two GPUs, with "cpu"
entries), TF's MirroredStrategy on logical CPUs in a subprocess (they must be set before TF starts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tuiflow.models import ModelConfig, TorchModel

ROOT = Path(__file__).resolve().parents[2]
MLP = {"inputs": 64, "classes": 10, "model": {"name": "MLP", "units": [32]}, "seed": 0,
       "optimizer": {"name": "Adam", "lr": 1e-2}}


def parse_device(device, framework="torch"):
    return ModelConfig.parse({"inputs": 4, "classes": 2, "device": device}, framework).device


def test_device_lists_parse_to_canonical_names():
    assert parse_device(["cuda:0", "cuda:1"]) == ("gpu:0", "gpu:1")
    assert parse_device(["/GPU:1", "gpu:0"], "tf") == ("gpu:1", "gpu:0")
    assert parse_device(["cpu", "CPU", "cpu"]) == ("cpu", "cpu", "cpu")
    assert parse_device(["cuda:1"]) == "gpu:1"  # one entry is one device
    assert parse_device("gpu:*") == parse_device("cuda:*") == "gpu:*"
    config = ModelConfig.parse({"inputs": 4, "classes": 2, "device": ["cpu", "cpu"]}, "torch")
    assert config.to_dict()["device"] == ["cpu", "cpu"]
    assert ModelConfig.parse(config.to_dict(), "torch") == config


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ([], "an empty list names no device"),
        (["cuda:0", "tpu:1"], r"entry 1 of \['cuda:0', 'tpu:1'\]: expected 'cpu', 'gpu:N' or 'cuda:N', got 'tpu:1'"),
        (["cuda:0", "gpu:*"], "entry 1 of"),
        (["cuda:1", "gpu:1"], r"gpu:1 is listed twice in \['cuda:1', 'gpu:1'\]"),
        (["cpu", "cuda:0"], r"\['cpu', 'cuda:0'\] mixes the CPU and GPUs"),
        ("cpu:*", "expected 'cpu', 'gpu', .* or a list of them, got 'cpu:\\*'"),
        ("gpus", "expected .* got 'gpus'"),
        ([0, 1], "entry 0 of"),
    ],
)
def test_bad_device_lists_are_one_line_errors_naming_the_key(device, message):
    with pytest.raises(ValueError, match="model config key 'device': " + message) as caught:
        parse_device(device)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (["cuda:0", "cuda:1"], "gpu:0 is not visible \\(torch sees 0 GPUs\\)"),
        ("gpu:*", "gpu:\\* asks for every visible GPU, and torch sees 0 GPUs"),
    ],
)
def test_gpus_that_are_not_visible_are_refused_when_built(device, message):
    with pytest.raises(ValueError, match="model config key 'device': " + message):
        TorchModel({**MLP, "device": device})


def digits_steps(digits, steps, batch=64):
    inputs, targets = digits
    for step in range(steps):
        start = step * batch % (len(inputs) - batch + 1)
        yield inputs[start : start + batch], targets[start : start + batch]


def test_torch_on_two_cpus_splits_each_batch_and_trains_like_one_device(digits):
    one = TorchModel({**MLP, "device": "cpu"})
    two = TorchModel({**MLP, "device": ["cpu", "cpu"]})
    assert two.devices == ("cpu", "cpu") and one.devices == ("cpu",)
    assert "device=['cpu', 'cpu']" in repr(two)
    seen: list[tuple[int, int, str]] = []
    replicas = two._backend.replicas
    assert len(replicas) == 2 and replicas[0] is two.network
    for index, replica in enumerate(replicas):
        replica.register_forward_pre_hook(
            lambda module, args, index=index: seen.append((index, len(args[0]), threading.current_thread().name))
        )
    first, second = [], []
    for inputs, targets in digits_steps(digits, 24):
        first.append(one.train(inputs, targets))
        second.append(two.train(inputs, targets))
    # each replica saw half of every batch, the second on a thread of its own
    assert sorted((index, size) for index, size, _ in seen[:2]) == [(0, 32), (1, 32)]
    assert len(seen) == 48 and {size for _, size, _ in seen} == {32}
    threads = {index: {name for i, _, name in seen if i == index} for index in (0, 1)}
    assert threads[0] == {threading.current_thread().name} and threads[0].isdisjoint(threads[1])
    assert np.mean(second[-4:]) < 0.6 * np.mean(second[:4]), second
    # the same weights, data and seed: the gradients are the whole batch's, so the runs agree
    np.testing.assert_allclose(second, first, rtol=1e-4, atol=1e-5)
    inputs, _ = digits
    np.testing.assert_allclose(two.predict(inputs[:101]), one.predict(inputs[:101]), rtol=1e-4, atol=1e-4)
    assert two.predict(inputs[:1]).shape == (1, 10)  # fewer items than replicas


def test_torch_replicas_keep_batch_norm_statistics_of_the_first_share(digits, tmp_path):
    inputs, targets = digits
    images = inputs.reshape(-1, 1, 8, 8)
    config = {"inputs": (1, 8, 8), "classes": 10, "seed": 0, "optimizer": {"name": "Adam", "lr": 1e-2},
              "model": {"name": "ResNet", "filters": [8, 16], "blocks": 1}, "device": ["cpu", "cpu", "cpu"]}
    model = TorchModel(config)
    losses = [model.train(images[start : start + 96], targets[start : start + 96]) for start in range(0, 960, 96)]
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    master, other = model._backend.replicas[0], model._backend.replicas[2]
    assert all(a is b for a, b in zip(master.parameters(), other.parameters()))  # one set of weights
    model.save(tmp_path / "saved")
    loaded = TorchModel.load(tmp_path / "saved", device="cpu")  # weights saved from two CPUs load on one
    assert loaded.devices == ("cpu",)
    np.testing.assert_allclose(loaded.predict(images[:50]), model.predict(images[:50]), rtol=1e-4, atol=1e-4)


TF_SCRIPT = r"""
import json, sys
import numpy as np
from sklearn.datasets import load_digits
from tuiflow.models import TFModel

data = load_digits()
inputs, targets = (data.data / 16).astype(np.float32), data.target.astype(np.int64)
config = {"inputs": 64, "classes": 10, "model": {"name": "MLP", "units": [32]}, "seed": 0,
          "optimizer": {"name": "Adam", "lr": 1e-2}}
two = TFModel({**config, "device": ["cpu", "cpu"]})
one = TFModel({**config, "device": "cpu"})
import tensorflow as tf
strategy = two._backend.strategy
first, second = [], []
for step in range(24):
    start = step * 64 % (len(inputs) - 63)
    first.append(one.train(inputs[start:start + 64], targets[start:start + 64]))
    second.append(two.train(inputs[start:start + 64], targets[start:start + 64]))
shares = two._backend.split(inputs[:64])
import tempfile
from tuiflow.models import Model
folder = tempfile.mkdtemp()
two.save(folder)
again = Model.load(folder)  # a second model on the same two CPUs, and one on one CPU
alone = Model.load(folder, device="cpu")
try:  # TF has started with two logical CPUs: three cannot be made any more
    TFModel({**config, "device": ["cpu"] * 3})
    late = None
except ValueError as error:
    late = str(error)
print(json.dumps({
    "logical": [device.name for device in tf.config.list_logical_devices("CPU")],
    "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
    "strategy_devices": list(strategy.extended.worker_devices),
    "shares": [int(share.shape[0]) for share in shares.values],
    "share_devices": [share.device for share in shares.values],
    "devices": list(two.devices), "one": first, "two": second,
    "predict_gap": float(np.abs(one.predict(inputs[:101]) - two.predict(inputs[:101])).max()),
    "odd": two.train(inputs[:1], targets[:1]),
    "loaded_gap": float(np.abs(again.predict(inputs[:50]) - alone.predict(inputs[:50])).max()),
    "loaded_devices": [list(again.devices), list(alone.devices)],
    "late": late,
}))
"""


def test_tf_on_two_cpus_mirrors_over_logical_cpus_and_trains_like_one_device():
    result = subprocess.run([sys.executable, "-c", TF_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["logical"] == ["/device:CPU:0", "/device:CPU:1"]
    assert report["strategy"] == "MirroredStrategy" and report["replicas"] == 2
    assert [name.endswith(f"CPU:{index}") for index, name in enumerate(report["strategy_devices"])] == [True, True]
    assert report["shares"] == [32, 32]
    assert [name.endswith(f"CPU:{index}") for index, name in enumerate(report["share_devices"])] == [True, True]
    assert report["devices"] == ["cpu", "cpu"]
    assert np.mean(report["two"][-4:]) < 0.6 * np.mean(report["two"][:4]), report["two"]
    np.testing.assert_allclose(report["two"], report["one"], rtol=1e-4, atol=1e-5)
    assert report["predict_gap"] < 1e-4
    assert np.isfinite(report["odd"])  # one item over two replicas: one of them gets none
    assert report["loaded_devices"] == [["cpu", "cpu"], ["cpu"]] and report["loaded_gap"] < 1e-5
    assert report["late"] == ("model config key 'device': 3 CPU entries need 3 logical CPUs, and TensorFlow "
                              "started with 2: build this model before any other TensorFlow work in the process")
