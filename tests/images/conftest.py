"""Real images for the ImagesBatch tests: scikit-learn's sample photos and digits, written to files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from images_helpers import labels_of
from PIL import Image

WIDTH, HEIGHT = 160, 107  # the 640x427 sample photos, a quarter of the size: fast enough for every test


@pytest.fixture(scope="session")
def photos() -> list[np.ndarray]:
    """scikit-learn's two sample photos (china, flower), downscaled to 160x107 RGB uint8."""
    from sklearn.datasets import load_sample_images

    return [np.array(Image.fromarray(image).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR))
            for image in load_sample_images().images]


@pytest.fixture(scope="session")
def four_photos(photos) -> np.ndarray:
    """Four distinct RGB photos (the two samples and their mirror images), stacked (4, 107, 160, 3)."""
    return np.stack([photos[0], photos[1], photos[0][:, ::-1], photos[1][::-1]])


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as uint8 images (1797, 8, 8) in 0..255, and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return np.clip(data.images * 16, 0, 255).astype(np.uint8), data.target.astype(np.int64)


@pytest.fixture
def photo_files(tmp_path, photos) -> Path:
    """A folder of six photo files (PNG and JPEG, two sizes), named photo0..photo5."""
    folder = tmp_path / "photos"
    folder.mkdir()
    variants = [photos[0], photos[1], photos[0][:, ::-1], photos[1][::-1], photos[0][:80, :120], photos[1][5:, 7:]]
    for i, image in enumerate(variants):
        Image.fromarray(np.ascontiguousarray(image)).save(folder / f"photo{i}.{'jpg' if i == 5 else 'png'}")
    return folder


@pytest.fixture
def segmentation_folders(tmp_path, photos) -> Path:
    """Four item folders, each with image.png (RGB) and mask.png (labels 0..2), as a FilesIndex(dirs=True) sees."""
    root = tmp_path / "items"
    for i in range(4):
        image = photos[i % 2] if i < 2 else photos[i % 2][:, ::-1]
        folder = root / f"item{i}"
        folder.mkdir(parents=True)
        Image.fromarray(np.ascontiguousarray(image)).save(folder / "image.png")
        Image.fromarray(labels_of(image)).save(folder / "mask.png")
    return root
