"""Semantic segmentation of a synthetic shapes set the recipe draws itself (no download)."""

from __future__ import annotations

import numpy as np

from tuiflow import B, Batch, Dataset, P, Param, Pipeline, R, SegmentationMetrics, V, action, inbatch_parallel, recipe


def draw_shapes(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy grey images, each with one rectangle (class 1) and one disk (class 2), and their masks."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    masks = np.zeros((count, size, size), dtype=np.int64)
    for i in range(count):
        top, left = rng.integers(0, size - size // 3, 2)
        height, width = rng.integers(size // 6, size // 3, 2)
        masks[i, top:top + height, left:left + width] = 1
        centre = rng.integers(size // 5, size - size // 5, 2)
        radius = rng.integers(size // 10, size // 5)
        masks[i][(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2] = 2
    images = rng.normal(0.0, 0.25, (count, size, size)).astype(np.float32)
    images += (masks == 1) * 1.0 + (masks == 2) * 0.6
    return images[:, None], masks  # images channels-first: (N, 1, H, W)


class ShapesBatch(Batch):
    """Images (N, 1, H, W), masks (N, H, W) and, after prediction, logits."""

    components = ("images", "masks")

    @action
    @inbatch_parallel(init="indices", target="for")
    def flip(self, ix, do):
        """Mirror an item left-right, image and mask together, when its ``do`` is true."""
        if do:
            i = self.get_pos(ix)
            self.images[i] = self.images[i][..., ::-1]
            self.masks[i] = self.masks[i][..., ::-1]

    @action
    def to_layout(self, framework):
        """TensorFlow's networks take channels last."""
        if framework == "tf":
            self.images = np.moveaxis(self.images, 1, -1)
        return self


@recipe(name="segmentation-unet", description="A small UNet on synthetic shapes: IoU and Dice per epoch",
        params={"size": Param(32, help="the side of each image drawn", unit="px"),
                "items": Param(512, help="images drawn: 80% to train on, 20% to test"),
                "epochs": Param(8, help="passes over the training images; the progress counts them"),
                "batch_size": Param(16, help="images per training batch", unit="images"),
                "lr": Param(1e-2, help="the Adam optimizer's learning rate"),
                "filters": Param(8, help="filters of the UNet's first level; the second has twice as many"),
                "framework": Param("torch", choices=("torch", "tf"),
                                   help="the library that builds and trains the network: PyTorch or TensorFlow"),
                "seed": Param(0, help="the shapes, the split and the first weights; each repetition gets its own")},
        requires={"framework": {"torch": "torch", "tf": "tensorflow"}})
def segmentation_unet(run):
    """Train a UNet to tell rectangles from disks from background; returns test IoU and Dice."""
    config = run.config
    framework = config["framework"]
    images, masks = draw_shapes(config["items"], config["size"], config["seed"])
    dataset = Dataset(len(images), batch_class=ShapesBatch, preloaded=(images, masks))
    dataset.split(0.8, shuffle=config["seed"])
    shape = (1, config["size"], config["size"]) if framework == "torch" else (config["size"], config["size"], 1)
    model_config = {"inputs": shape, "classes": 3, "loss": "ce",
                    "model": {"name": "UNet", "filters": [config["filters"], config["filters"] * 2]},
                    "optimizer": {"name": "Adam", "lr": config["lr"]}, "seed": config["seed"],
                    "device": "cpu" if run.device == "cpu" else ("cuda:0" if framework == "torch" else "gpu:0")}
    train = dataset.train >> (Pipeline()
                              .init_variable("loss", list)
                              .load()
                              .flip(do=P(R("random") < 0.5))
                              .to_layout(framework)
                              .init_model("unet", framework, model_config)
                              .train_model("unet", inputs=B("images"), targets=B("masks"),
                                           save_to=V("loss", mode="a")))
    evaluate = dataset.test >> (Pipeline()
                                .load()
                                .to_layout(framework)
                                .import_model("unet", train)
                                .predict_model("unet", inputs=B("images"), save_to=B("logits")))
    metrics: dict = {}
    for epoch in range(config["epochs"]):
        train.run(config["batch_size"], shuffle=config["seed"] + epoch, prefetch=1)
        scores = SegmentationMetrics(3, class_axis=1 if framework == "torch" else -1)
        for batch in evaluate.gen_batch(64):
            scores.update(batch.masks, batch.logits)
        metrics = {"loss": float(np.mean(train.v("loss"))), "iou": scores.evaluate("iou"),
                   "dice": scores.evaluate("dice")}
        run.log(step=epoch + 1, **metrics)
        run.progress(epoch + 1, config["epochs"])
    return metrics
