"""Every ImagesBatch action on real photos: shapes, dtypes, values, p, src/dst and per-item arguments."""

from __future__ import annotations

import numpy as np
import pytest

from tuiflow import ActionArgumentError, ActionError, B, Dataset, P, R
from tuiflow.flow.images import ImagesBatch, ops, warp


def photos_dataset(four_photos):
    return Dataset(len(four_photos), ImagesBatch, preloaded=(four_photos, np.arange(len(four_photos))))


def run_batch(ds, ppl_tail, batch_size=4, seed=None):
    return next(iter(ppl_tail(ds.p.load()).gen_batch(batch_size, seed=seed)))


# Each action with arguments that change every image, and the shape it gives a (107, 160, 3) photo.
ACTIONS = {
    "resize": ({"size": (40, 30)}, (30, 40, 3)),
    "resize_keep_ratio": ({"size": (40, None)}, (27, 40, 3)),
    "rotate": ({"angle": 30, "fill": (0, 0, 255)}, (107, 160, 3)),
    "rotate_expand": ({"angle": 90, "expand": True}, (160, 107, 3)),
    "scale": ({"factor": 0.5}, (54, 80, 3)),
    "scale_preserving": ({"factor": (1.3, 0.7), "preserve_shape": True}, (107, 160, 3)),
    "flip": ({"mode": "lr"}, (107, 160, 3)),
    "flip_ud": ({"mode": "ud"}, (107, 160, 3)),
    "crop": ({"shape": (50, 40)}, (40, 50, 3)),
    "pad": ({"pad_width": (1, 2, 3, 4)}, (113, 164, 3)),
    "pad_reflect": ({"pad_width": 5, "mode": "reflect"}, (117, 170, 3)),
    "shift": ({"offset": (5, -3)}, (107, 160, 3)),
    "invert": ({"channels": [0]}, (107, 160, 3)),
    "additive_noise": ({"noise": 10}, (107, 160, 3)),
    "multiplicative_noise": ({"noise": 0.2}, (107, 160, 3)),
    "cutout": ({"origin": (10, 5), "shape": (20, 10), "color": (255, 0, 0)}, (107, 160, 3)),
    "elastic_transform": ({"alpha": 40, "sigma": 4}, (107, 160, 3)),
}


def action_name(case):
    return case.split("_keep")[0].split("_preserving")[0].split("_expand")[0].split("_ud")[0].split("_reflect")[0]


@pytest.mark.parametrize("case", list(ACTIONS))
def test_each_action_transforms_every_item_with_p_1(case, four_photos):
    kwargs, shape = ACTIONS[case]
    batch = run_batch(photos_dataset(four_photos), lambda p: getattr(p, action_name(case))(**kwargs, p=1))
    assert batch.images.dtype == object and len(batch.images) == 4
    for before, after in zip(four_photos, batch.images):
        assert after.shape == shape and after.dtype == np.uint8
        assert not np.shares_memory(before, after)
        assert after.shape != before.shape or not np.array_equal(after, before)


@pytest.mark.parametrize("case", list(ACTIONS))
def test_each_action_changes_nothing_with_p_0(case, four_photos):
    kwargs, _ = ACTIONS[case]
    batch = run_batch(photos_dataset(four_photos), lambda p: getattr(p, action_name(case))(**kwargs, p=0))
    for before, after in zip(four_photos, batch.images):
        np.testing.assert_array_equal(after, before)


def test_pixel_exact_results(four_photos):
    image = four_photos[0]
    ds = photos_dataset(four_photos)

    def one(tail):
        return run_batch(ds, tail).images[0]

    np.testing.assert_array_equal(one(lambda p: p.flip(mode="lr")), image[:, ::-1])
    np.testing.assert_array_equal(one(lambda p: p.flip(mode="ud")), image[::-1])
    np.testing.assert_array_equal(one(lambda p: p.crop(shape=(50, 40))), image[33:73, 55:105])
    np.testing.assert_array_equal(one(lambda p: p.crop(shape=(50, 40), origin=(3, 4))), image[4:44, 3:53])
    np.testing.assert_array_equal(one(lambda p: p.crop(shape=(50, 40), origin="bottom_right")), image[-40:, -50:])
    big = one(lambda p: p.crop(shape=(170, 107), fill=7))  # a window wider than the image: centred, filled
    np.testing.assert_array_equal(big[:, 5:165], image)
    assert (big[:, :5] == 7).all() and (big[:, 165:] == 7).all()
    padded = one(lambda p: p.pad(pad_width=(1, 2, 3, 4), fill=9))
    np.testing.assert_array_equal(padded[2:-4, 1:-3], image)
    assert (padded[:2] == 9).all() and (padded[:, -3:] == 9).all()
    shifted = one(lambda p: p.shift(offset=(5, -3)))
    np.testing.assert_array_equal(shifted[:-3, 5:], image[3:, :-5])
    assert (shifted[:, :5] == 0).all() and (shifted[-3:] == 0).all()
    np.testing.assert_array_equal(one(lambda p: p.shift(offset=(5, -3), mode="wrap")), np.roll(image, (-3, 5), (0, 1)))
    inverted = one(lambda p: p.invert(channels=[0]))
    np.testing.assert_array_equal(inverted[..., 0], 255 - image[..., 0])
    np.testing.assert_array_equal(inverted[..., 1:], image[..., 1:])
    np.testing.assert_array_equal(one(lambda p: p.invert()), 255 - image)
    cut = one(lambda p: p.cutout(origin=(10, 5), shape=(20, 10), color=(255, 0, 0)))
    assert (cut[5:15, 10:30] == [255, 0, 0]).all()
    np.testing.assert_array_equal(cut[15:], image[15:])
    rotated = one(lambda p: p.rotate(angle=30, fill=(0, 0, 255)))
    assert rotated[0, 0].tolist() == [0, 0, 255]  # a corner the rotation uncovered
    assert np.abs(rotated[50:57, 77:83].astype(int) - image[50:57, 77:83]).mean() < 30  # the centre stays
    assert one(lambda p: p.rotate(angle=360)).tolist() == image.tolist()


def test_noise_keeps_the_dtype_and_range_and_has_the_asked_strength(four_photos):
    ds = photos_dataset(four_photos)
    noisy = run_batch(ds, lambda p: p.additive_noise(noise=10)).images
    middle = (four_photos > 40) & (four_photos < 215)  # where clipping cannot cut the noise
    diff = np.stack(noisy).astype(float) - four_photos
    assert 8 < diff[middle].std() < 12 and abs(diff[middle].mean()) < 0.5
    noisy = run_batch(ds, lambda p: p.multiplicative_noise(noise=0.1, clip=(20, 200))).images
    assert all(image.dtype == np.uint8 and image.min() >= 20 and image.max() <= 200 for image in noisy)
    uniform = run_batch(ds, lambda p: p.additive_noise(noise=lambda size, rng: rng.uniform(-3, 3, size))).images
    diff = np.stack(uniform).astype(float) - four_photos
    assert np.abs(diff[middle]).max() <= 3 and diff[middle].std() > 1
    legacy = run_batch(ds, lambda p: p.additive_noise(noise=lambda size: np.full(size, 2.0))).images
    np.testing.assert_array_equal(np.stack(legacy)[middle], four_photos[middle] + 2)


def test_float_images_keep_their_dtype_through_every_action(digits):
    images = (digits[0][:6] / 255).astype(np.float32)
    ds = Dataset(6, ImagesBatch, preloaded=images)
    for case, (kwargs, _) in ACTIONS.items():
        # The digits have one channel: no per-channel colours.
        kwargs = {k: v for k, v in kwargs.items() if k not in ("channels", "fill", "color")}
        batch = run_batch(ds, lambda p, case=case, kwargs=kwargs: getattr(p, action_name(case))(**kwargs), 6)
        assert all(image.dtype == np.float32 and image.ndim == 2 for image in batch.images), case
    inverted = run_batch(ds, lambda p: p.invert(), 6).images
    np.testing.assert_allclose(inverted[0], 1 - images[0])
    bigger = run_batch(ds, lambda p: p.resize(size=(16, 16), resample="bicubic"), 6).images
    assert bigger[0].shape == (16, 16) and abs(bigger[0].mean() - images[0].mean()) < 0.05


def test_p_transforms_about_that_share_of_items_each_drawn_per_item(digits):
    images = digits[0][:800]
    ds = Dataset(len(images), ImagesBatch, preloaded=images)
    batch = run_batch(ds, lambda p: p.update(B("random"), 1).invert(p=0.8), 800)
    changed = np.array([not np.array_equal(a, b) for a, b in zip(batch.images, images)])
    assert 0.75 < changed.mean() < 0.85
    again = run_batch(ds, lambda p: p.update(B("random"), 2).invert(p=0.8), 800)
    changed_again = np.array([not np.array_equal(a, b) for a, b in zip(again.images, images)])
    assert (changed != changed_again).any()  # not the same items every time


def test_per_item_arguments_give_each_item_its_own_value(four_photos):
    same = np.stack([four_photos[0]] * 4)
    ds = Dataset(4, ImagesBatch, preloaded=same)
    batch = run_batch(ds, lambda p: p.rotate(angle=P(R("uniform", -30, 30, seed=7))))
    angles = np.random.default_rng(7).uniform(-30, 30, size=4)
    for image, angle in zip(batch.images, angles):
        np.testing.assert_array_equal(image, warp.rotate(same[0], angle))
    assert len({image.tobytes() for image in batch.images}) == 4
    crops = run_batch(ds, lambda p: p.crop(shape=(60, 50), origin="random")).images
    assert len({image.tobytes() for image in crops}) == 4  # a random origin is drawn per item
    shifts = run_batch(ds, lambda p: p.shift(offset=P(R("integers", -20, 20, size=2, seed=1)))).images
    offsets = np.random.default_rng(1).integers(-20, 20, size=(4, 2))
    for image, (dx, dy) in zip(shifts, offsets):
        np.testing.assert_array_equal(image, ops.shift(same[0], (dx, dy)))


def test_dst_gets_the_results_and_src_stays(four_photos):
    ds = photos_dataset(four_photos)
    batch = run_batch(ds, lambda p: p.flip(dst="flipped", p=0.5).to_array(src="flipped", dst="stack"))
    np.testing.assert_array_equal(np.stack(batch.images), four_photos)
    assert batch.stack.shape == (4, 107, 160, 3) and batch.stack.dtype == np.float32
    for before, after in zip(batch.images, batch.flipped):
        assert not np.shares_memory(before, after)
        assert np.array_equal(after, before) or np.array_equal(after, before[:, ::-1])


def test_a_seeded_run_repeats_its_random_draws(four_photos):
    ds = photos_dataset(four_photos)

    def draws(seed):
        ppl = (ds.p.load().update(B("random"), R("integers", 2**62))
               .rotate(angle=P(R("uniform", -30, 30)), p=0.5).crop(shape=(80, 60), origin="random")
               .additive_noise(noise=5).elastic_transform(alpha=30, sigma=4, p=0.5))
        return [np.stack(batch.images) for batch in ppl.gen_batch(2, n_epochs=2, seed=seed)]

    first, second, other = draws(1), draws(1), draws(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))
    assert not np.array_equal(first[0], first[2])  # epoch 2 draws anew


def test_to_array_stacks_channels_last_or_first(four_photos, digits):
    ds = photos_dataset(four_photos)
    last = run_batch(ds, lambda p: p.resize(size=(32, 24)).to_array())
    assert last.images.shape == (4, 24, 32, 3) and last.images.dtype == np.float32
    assert last.images.min() >= 0 and last.images.max() <= 255 and last.images.max() > 200
    first = run_batch(ds, lambda p: p.resize(size=(32, 24)).to_array(channels="first", dtype=np.float64))
    assert first.images.shape == (4, 3, 24, 32) and first.images.flags.c_contiguous
    np.testing.assert_array_equal(first.images, np.moveaxis(last.images, -1, 1))
    gray = Dataset(10, ImagesBatch, preloaded=digits[0][:10])
    assert run_batch(gray, lambda p: p.to_array(), 10).images.shape == (10, 8, 8, 1)
    assert run_batch(gray, lambda p: p.flip().to_array(channels="first"), 10).images.shape == (10, 1, 8, 8)
    kept = run_batch(gray, lambda p: p.to_array(channels=None, dtype=None), 10).images
    assert kept.shape == (10, 8, 8) and kept.dtype == np.uint8


def test_actions_also_take_pil_images(photos):
    from PIL import Image

    ds = Dataset(2, ImagesBatch, preloaded=[Image.fromarray(image) for image in photos])
    batch = run_batch(ds, lambda p: p.flip(p=0.5).resize(size=(20, 10)).to_array(), 2)
    assert batch.images.shape == (2, 10, 20, 3)


def test_errors_name_the_action_and_what_to_do(four_photos):
    ds = photos_dataset(four_photos)
    cases = [
        (lambda p: p.flip(mode="diag"), "flip: mode must be 'lr' or 'ud', not 'diag'"),
        (lambda p: p.resize(size=(0, 10)), r"resize: size must be positive"),
        (lambda p: p.resize(size=(None, None)), "at least one side"),
        (lambda p: p.resize(size=(10, 10), resample="cubic"), "resample must be one of 'nearest'"),
        (lambda p: p.rotate(angle=5, resample="lanczos"), "rotate: resample must be one of"),
        (lambda p: p.crop(shape=(-1, 5)), "crop: shape must be positive"),
        (lambda p: p.crop(shape=10, origin="middle"), "origin must be one of 'center'"),
        (lambda p: p.crop(shape=10, origin=(0.5, 2.0)), r"must lie in \[0, 1\]"),
        (lambda p: p.pad(pad_width=(1, 2, 3)), "pad_width must be an int"),
        (lambda p: p.pad(pad_width=2, mode="mirror"), "pad: mode must be one of"),
        (lambda p: p.shift(offset=(1, 1), mode="loop"), "shift: mode must be 'const' or 'wrap'"),
        (lambda p: p.invert(channels=[5]), "has 3 channel"),
        (lambda p: p.rotate(angle=5, fill=(1, 2)), "fill must be a number or 3 numbers"),
        (lambda p: p.additive_noise(noise="loud"), "noise must be a standard deviation"),
        (lambda p: p.elastic_transform(alpha=1, sigma=0), "sigma must be > 0"),
        (lambda p: p.flip(p=1.5), r"flip: p must lie in \[0, 1\]"),
        (lambda p: p.flip(src="pictures"), "component 'pictures' is empty; load it first"),
        (lambda p: p.flip(src=("images", "labels"), dst="x"), "dst names 1 components for 2"),
        (lambda p: p.resize(size=P(R("integers", 5, 50, size=2))).to_array(), "different shapes"),
        (lambda p: p.to_array(channels="middle"), "channels must be 'last', 'first' or None"),
    ]
    for tail, message in cases:
        with pytest.raises(ActionError, match=message):
            run_batch(ds, tail)


def test_a_wrong_argument_fails_before_the_first_batch(four_photos):
    ppl = photos_dataset(four_photos).p.load().rotate(angle=30, fil=0)
    with pytest.raises(ActionArgumentError, match=r"'rotate' of batch class ImagesBatch.*fil"):
        ppl.gen_batch(2)


def test_p_can_differ_per_item(digits):
    images = digits[0][:6]
    ds = Dataset(6, ImagesBatch, preloaded=images)
    batch = run_batch(ds, lambda p: p.invert(p=P([1, 0, 1, 0, 0, 1])), 6)
    changed = [not np.array_equal(a, b) for a, b in zip(batch.images, images)]
    assert changed == [True, False, True, False, False, True]


def test_a_run_seed_alone_repeats_the_draws(four_photos):
    ds = photos_dataset(four_photos)
    ppl = ds.p.load().rotate(angle=30, p=0.5).additive_noise(noise=5)
    first = [np.stack(b.images) for b in ppl.gen_batch(2, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, [np.stack(b.images) for b in ppl.gen_batch(2, seed=3)]))
    assert not np.array_equal(first[0], next(iter(ppl.gen_batch(2, seed=4))).images[0])


def test_image_action_gives_custom_actions_the_same_treatment(four_photos):
    from tuiflow.flow.images import ImageItem, image_action

    class Posterized(ImagesBatch):
        @image_action
        def posterize(self, item: ImageItem, bits: int = 2, *, p=1.0, src="images", dst=None):
            """Keep the top ``bits`` bits of each value."""
            item.apply(lambda image: image & np.uint8((0xFF << (8 - bits)) & 0xFF))

        @image_action
        def forget_to_write(self, item: ImageItem, *, p=1.0, src="images", dst=None):
            pass

    ds = Dataset(4, Posterized, preloaded=four_photos)
    batch = run_batch(ds, lambda p: p.posterize(bits=P([1, 2, 3, 8]), dst="poster").forget_to_write())
    assert len(np.unique(batch.poster[0])) <= 2 and len(np.unique(batch.poster[1])) <= 4
    np.testing.assert_array_equal(batch.poster[3], four_photos[3])
    np.testing.assert_array_equal(np.stack(batch.images), four_photos)  # untouched by an empty action
    with pytest.raises(TypeError, match="keyword-only parameters p, src and dst"):
        @image_action
        def no_controls(self, item, p=1.0):
            pass
