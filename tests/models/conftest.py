"""Small real data for the model tests: the digits set and a synthetic shapes-mask set."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (shipped with it, no download): inputs (1797, 64) in [0, 1], ids 0-9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16).astype(np.float32), data.target.astype(np.int64)


def make_shapes(count: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy images (N, size, size) of one rectangle (class 1) and one disk (class 2) each, and their masks."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    images = rng.normal(0, 0.1, (count, size, size)).astype(np.float32)
    masks = np.zeros((count, size, size), dtype=np.int64)
    for index in range(count):
        top, left = rng.integers(0, size - 6, 2)
        height, width = rng.integers(3, 7, 2)
        masks[index, top : top + height, left : left + width] = 1
        centre, radius = rng.integers(4, size - 4, 2), rng.integers(2, 4)
        masks[index][(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2] = 2
    images += (masks == 1) * 1.0 + (masks == 2) * 0.5
    return images, masks


@pytest.fixture(scope="session")
def shapes() -> tuple[np.ndarray, np.ndarray]:
    """64 images 16x16 of shapes and their 3-class masks."""
    return make_shapes(64)


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # the suite runs on 2 cores; more threads than that only adds contention
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(2)
