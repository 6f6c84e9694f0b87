"""Masks follow their images: the same per-item parameters, nearest-neighbour, labels kept."""

from __future__ import annotations

import numpy as np
import pytest
from images_helpers import labels_of

from tuiflow import Dataset, FilesIndex, P, R
from tuiflow.flow.images import ImagesBatch

# Geometric actions with per-item random parameters; "nearest" for the images too, so that an image
# painted from its mask must come out as exactly the mask painted again.
GEOMETRIC = {
    "rotate": {"angle": P(R("uniform", -40, 40)), "resample": "nearest"},
    "rotate_expand": {"angle": P(R("uniform", -40, 40)), "expand": True, "resample": "nearest"},
    "resize": {"size": P(R("integers", 20, 200, size=2)), "resample": "nearest"},
    "scale": {"factor": P(R("uniform", 0.6, 1.5)), "preserve_shape": True, "origin": "random",
              "resample": "nearest"},
    "flip": {"mode": "lr", "p": 0.5},
    "crop": {"shape": (70, 50), "origin": "random"},
    "pad": {"pad_width": P(R("integers", 0, 9, size=4))},
    "shift": {"offset": P(R("integers", -30, 30, size=2))},
    "elastic_transform": {"alpha": 60, "sigma": 5, "resample": "nearest"},
}


@pytest.fixture
def painted(four_photos):
    """Masks of the four photos (uint8 labels 0..2) and images painted from them (mask * 60)."""
    masks = np.stack([labels_of(image) for image in four_photos])
    return masks * 60, masks


@pytest.mark.parametrize("case", list(GEOMETRIC))
@pytest.mark.parametrize("mask_dtype", [np.uint8, np.int64])
def test_masks_get_the_same_parameters_as_their_images(case, mask_dtype, painted):
    images, masks = painted
    masks = masks.astype(mask_dtype)
    ds = Dataset(4, ImagesBatch, preloaded={"images": images, "masks": masks})
    action = case.split("_expand")[0]
    ppl = getattr(ds.p.load(), action)(**GEOMETRIC[case], src=("images", "masks"))
    for batch in ppl.gen_batch(2, n_epochs=2):
        for image, mask in zip(batch.images, batch.masks):
            assert mask.dtype == mask_dtype and image.dtype == np.uint8
            assert set(np.unique(mask).tolist()) <= {0, 1, 2}
            np.testing.assert_array_equal(image, (mask * 60).astype(np.uint8))


def test_photo_masks_follow_a_bilinear_rotation(four_photos):
    masks = np.stack([labels_of(image) for image in four_photos])
    ds = Dataset(4, ImagesBatch, preloaded={"images": four_photos, "masks": masks})
    batch = next(iter(ds.p.load().rotate(angle=P(R("uniform", 20, 40)), src=("images", "masks")).gen_batch(4)))
    for image, mask, before in zip(batch.images, batch.masks, masks):
        assert set(np.unique(mask).tolist()) <= {0, 1, 2}  # nearest-neighbour: no blended labels
        inside = image.any(axis=-1)  # not the filled corners
        agreement = (labels_of(image) == mask)[inside].mean()
        assert agreement > 0.9, agreement
        assert not np.array_equal(mask, before)


def test_mask_fill_is_the_class_background(four_photos):
    class IgnoreBorders(ImagesBatch):
        mask_fill = 255

    masks = np.stack([labels_of(image) for image in four_photos])
    ds = Dataset(4, IgnoreBorders, preloaded={"images": four_photos, "masks": masks})
    batch = next(iter(ds.p.load().rotate(angle=45, fill=10, src=("images", "masks")).gen_batch(4)))
    assert batch.masks[0][0, 0] == 255 and (batch.images[0][0, 0] == 10).all()
    batch = next(iter(ds.p.load().pad(pad_width=3, src=("images", "masks")).gen_batch(4)))
    assert (batch.masks[1][:3] == 255).all() and (batch.images[1][:3] == 0).all()


def test_pixel_actions_leave_masks_alone_unless_asked(four_photos):
    masks = np.stack([labels_of(image) for image in four_photos])
    ds = Dataset(4, ImagesBatch, preloaded={"images": four_photos, "masks": masks})
    batch = next(iter(ds.p.load().additive_noise(noise=20).invert().gen_batch(4)))
    np.testing.assert_array_equal(np.stack(batch.masks), masks)


def test_a_segmentation_pipeline_over_item_folders(segmentation_folders):
    ds = Dataset(FilesIndex(path=str(segmentation_folders / "*"), dirs=True), ImagesBatch)
    both = ("images", "masks")
    ppl = (ds.p.load(fmt="image")
           .scale(factor=P(R("uniform", 0.8, 1.25)), src=both)
           .rotate(angle=P(R("uniform", -30, 30)), p=0.5, src=both)
           .flip(mode="lr", p=0.5, src=both)
           .crop(shape=(96, 64), origin="random", src=both)
           .elastic_transform(alpha=30, sigma=4, p=0.5, src=both)
           .additive_noise(noise=5, p=0.5)
           .to_array(channels="first")
           .to_array(src="masks", channels=None, dtype=np.int64))
    seen = 0
    for batch in ppl.gen_batch(3, shuffle=True, n_epochs=2, drop_last=True, prefetch=1):
        assert batch.images.shape == (3, 3, 64, 96) and batch.images.dtype == np.float32
        assert batch.masks.shape == (3, 64, 96) and batch.masks.dtype == np.int64
        assert set(np.unique(batch.masks).tolist()) <= {0, 1, 2}
        agreement = (labels_of(np.moveaxis(batch.images, 1, -1)) == batch.masks).mean()
        assert agreement > 0.8, agreement  # noise and bilinear edges blur a few labels, not the layout
        seen += 1
    assert seen == 2
