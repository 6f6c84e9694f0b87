"""A pure data pipeline over a folder of real photos: load, augment, stack. Worth profiling."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tuiflow import B, Dataset, FilesIndex, P, Param, Pipeline, R, V, recipe
from tuiflow.flow.images import ImagesBatch


def write_tiles(folder: Path, count: int, size: int, seed: int) -> None:
    """``count`` random crops of scikit-learn's two sample photos (shipped with it), as JPEG files."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        photo = photos[i % len(photos)]
        top = rng.integers(0, photo.shape[0] - size)
        left = rng.integers(0, photo.shape[1] - size)
        Image.fromarray(photo[top:top + size, left:left + size]).save(folder / f"tile-{i:04d}.jpg", quality=90)


@recipe(name="images-augment", description="Augment a folder of real photos: a data pipeline to profile",
        params={
            "folder": Param("", help="a folder of .jpg files; empty: tiles cut from scikit-learn's two sample photos"),
            "images": Param(256, help="tiles written when folder is empty"),
            "size": Param(160, help="the side of each tile written when folder is empty", unit="px"),
            "out": Param(128, help="the side of the random crop each image is cut to", unit="px"),
            "batch_size": Param(16, help="images per batch", unit="images"),
            "epochs": Param(2, help="passes over the images; the progress counts them"),
            "prefetch": Param(2, help="batches made ahead, in the background, while one is used"),
            "seed": Param(0, help="the tiles, the order and the augmentations; each repetition gets its own"),
        },
        requires={"folder": {"": "sklearn"}})  # the sample photos come with scikit-learn
def images_augment(run):
    """Load JPEG files through a FilesIndex, augment them (rotate, flip, crop, noise, elastic), stack
    them into arrays. ``folder`` empty: the recipe writes ``images`` tiles of the sample photos."""
    config = run.config
    with tempfile.TemporaryDirectory(prefix="tuiflow-images-") as scratch:
        folder = Path(config["folder"] or scratch)
        if not config["folder"]:
            write_tiles(folder, config["images"], config["size"], config["seed"])
        index = FilesIndex(path=str(folder / "*.jpg"), sort=True)
        if not len(index):
            raise ValueError(f"no .jpg files in {folder}")
        dataset = Dataset(index, batch_class=ImagesBatch)
        out = config["out"]
        pipeline = dataset >> (Pipeline()
                               .init_variable("brightness", list)
                               .load(fmt="image")
                               .rotate(angle=P(R("uniform", -20, 20)), p=0.5)
                               .flip(mode="lr", p=0.5)
                               .crop(shape=(out, out), origin="random")
                               .additive_noise(noise=4.0, clip=(0, 255))
                               .elastic_transform(alpha=P(R("uniform", 20, 40)), sigma=6, p=0.3)
                               .to_array(dtype=np.float32, channels="first")
                               .update(V("brightness", mode="a"), B("images").mean()))
        started = time.perf_counter()
        seen = 0
        for epoch in range(config["epochs"]):
            for batch in pipeline.gen_batch(config["batch_size"], shuffle=config["seed"] + epoch,
                                            prefetch=config["prefetch"], seed=config["seed"] + epoch):
                seen += len(batch)
            elapsed = time.perf_counter() - started
            run.log(step=epoch + 1, images_per_s=seen / elapsed, brightness=float(np.mean(pipeline.v("brightness"))))
            run.progress(epoch + 1, config["epochs"])
        shape = list(batch.images.shape[1:])
    return {"images": seen, "images_per_s": seen / (time.perf_counter() - started), "item_shape": shape,
            "brightness": float(np.mean(pipeline.v("brightness")))}
