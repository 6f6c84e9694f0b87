"""Loading ImagesBatch items: image files, item folders with masks, masks beside images, arrays."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from images_helpers import labels_of
from PIL import Image

from tuiflow import ActionError, Dataset, FilesIndex, FlowError
from tuiflow.flow.images import ImagesBatch


def first_batch(ppl, batch_size=100):
    return next(iter(ppl.gen_batch(batch_size)))


def test_load_reads_every_file_of_a_files_index(photo_files, photos):
    ds = Dataset(FilesIndex(path=str(photo_files / "*"), sort=True), ImagesBatch)
    batch = first_batch(ds.p.load(fmt="image"))
    assert list(batch.indices) == [f"photo{i}.{'jpg' if i == 5 else 'png'}" for i in range(6)]
    assert batch.images.dtype == object and batch.images.shape == (6,)
    assert all(image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 for image in batch.images)
    np.testing.assert_array_equal(batch.images[0], photos[0])  # PNG is lossless
    np.testing.assert_array_equal(batch.images[3], photos[1][::-1])
    assert batch.images[4].shape == (80, 120, 3)
    assert np.abs(batch.images[5].astype(int) - photos[1][5:, 7:]).mean() < 8  # JPEG, close
    assert all(image.flags.writeable for image in batch.images)


def test_mode_converts_images_and_ids_can_drop_extensions(photo_files, photos):
    index = FilesIndex(path=str(photo_files / "*.png"), no_ext=True, sort=True)
    batch = first_batch(Dataset(index, ImagesBatch).p.load(fmt="image", mode="L"))
    assert list(batch.indices) == [f"photo{i}" for i in range(5)]
    assert batch.images[0].shape == (107, 160)
    np.testing.assert_array_equal(batch.images[0], np.array(Image.fromarray(photos[0]).convert("L")))


def test_item_folders_give_images_and_their_masks(segmentation_folders, photos):
    ds = Dataset(FilesIndex(path=str(segmentation_folders / "*"), dirs=True, sort=True), ImagesBatch)
    batch = first_batch(ds.p.load(fmt="image"))
    assert list(batch.indices) == ["item0", "item1", "item2", "item3"]
    for image, mask in zip(batch.images, batch.masks):
        assert image.shape == (107, 160, 3) and mask.shape == (107, 160) and mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, labels_of(image))
    np.testing.assert_array_equal(batch.images[2], photos[0][:, ::-1])


def test_item_folders_with_other_file_names(segmentation_folders):
    for folder in segmentation_folders.iterdir():
        (folder / "mask.png").rename(folder / "label.png")
    ds = Dataset(FilesIndex(path=str(segmentation_folders / "*"), dirs=True), ImagesBatch)
    batch = first_batch(ds.p.load(fmt="image", files={"masks": "label.png"}))
    assert all(set(np.unique(mask)) <= {0, 1, 2} for mask in batch.masks)
    only_images = first_batch(ds.p.load(fmt="image", dst="images"))
    assert only_images.masks is None and len(only_images.images) == 4
    with pytest.raises(ActionError, match=r"no file 'mask' or 'mask\.\*' in .*item"):
        first_batch(ds.p.load(fmt="image"))


def test_masks_in_a_folder_beside_the_images(tmp_path, photos):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i, image in enumerate(photos):
        Image.fromarray(image).save(tmp_path / "images" / f"p{i}.jpg")
        Image.fromarray(labels_of(image)).save(tmp_path / "masks" / f"p{i}.png")  # other extension
    ds = Dataset(FilesIndex(path=str(tmp_path / "images" / "*.jpg"), sort=True), ImagesBatch)
    batch = first_batch(ds.p.load(fmt="image").load(fmt="image", src=str(tmp_path / "masks"), dst="masks"))
    for i in range(2):
        np.testing.assert_array_equal(batch.masks[i], labels_of(photos[i]))
    both = first_batch(ds.p.load(fmt="image", src=(None, str(tmp_path / "masks")), dst=("images", "masks")))
    np.testing.assert_array_equal(both.masks[1], batch.masks[1])


def test_load_from_preloaded_arrays_keeps_working(digits):
    images, labels = digits
    ds = Dataset(len(images), ImagesBatch, preloaded=(images, labels))
    batch = first_batch(ds.p.load().flip(), 10)
    assert batch.labels.tolist() == labels[:10].tolist()
    np.testing.assert_array_equal(batch.images[3], images[3][:, ::-1])
    dict_batch = first_batch(Dataset(len(images), ImagesBatch).p.load(src={"images": images, "labels": labels}), 5)
    assert dict_batch.images.shape == (5, 8, 8)


def test_loading_errors_are_clear(photo_files, digits):
    ds = Dataset(FilesIndex(path=str(photo_files / "*.png")), ImagesBatch)
    with pytest.raises(ActionError, match="unexpected arguments: colour"):
        first_batch(ds.p.load(fmt="image", colour="RGB"))
    with pytest.raises(ActionError, match="unknown fmt 'tiff'"):
        first_batch(ds.p.load(fmt="tiff"))
    with pytest.raises(ActionError, match="needs a FilesIndex"):
        first_batch(Dataset(10, ImagesBatch).p.load(fmt="image"))
    (photo_files / "notes.png").write_text("not an image")
    with pytest.raises(ActionError, match=r"notes\.png' is not an image"):
        first_batch(Dataset(FilesIndex(path=str(photo_files / "*.png")), ImagesBatch).p.load(fmt="image"))
    with pytest.raises(FlowError):
        first_batch(Dataset(10, ImagesBatch).p.load())


def test_importing_the_package_does_not_import_pil():
    code = "import sys, tuiflow.flow.images; print('PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
