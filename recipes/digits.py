"""Classifiers of scikit-learn's 8x8 digits (shipped with scikit-learn: no download)."""

from __future__ import annotations

import numpy as np

from tuiflow import B, Batch, ClassificationMetrics, Dataset, Param, Pipeline, V, recipe

# What both recipes take besides their network's own parameters.
EPOCHS_HELP = "passes over the training split (80% of the 1,797 digits); the progress counts them"
LR_HELP = "the Adam optimizer's learning rate"
BATCH_HELP = "digits per training batch"
FRAMEWORK = Param("torch", choices=("torch", "tf"),
                  help="the library that builds and trains the network: PyTorch or TensorFlow")
SEED_HELP = "the train/test split, the first weights and the batch order; each repetition gets its own unless set"
NEEDS = {"framework": {"torch": "tuiflow[torch]", "tf": "tuiflow[tf]"}}
"""Each framework's extra, which brings scikit-learn (the digits) too."""


class DigitsBatch(Batch):
    """Digit images (as flat vectors or 1x8x8 images) and their labels."""

    components = ("images", "labels")


def digits_dataset(seed: int, shape: tuple[int, ...]) -> Dataset:
    """The 1,797 digits scaled to [0, 1], reshaped to ``shape`` per item, split 80/20 by ``seed``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.data / 16.0).astype(np.float32).reshape(-1, *shape)
    dataset = Dataset(len(images), batch_class=DigitsBatch, preloaded=(images, data.target.astype(np.int64)))
    dataset.split(0.8, shuffle=seed)
    return dataset


def train_and_evaluate(run, dataset: Dataset, model_config: dict, framework: str) -> dict:
    """Train for ``run.config["epochs"]`` epochs, logging loss and test accuracy after each."""
    config = run.config
    train = (Pipeline()
             .init_variable("loss", list)
             .load()
             .init_model("net", framework, model_config)
             .train_model("net", inputs=B("images"), targets=B("labels"), fetches="loss",
                          save_to=V("loss", mode="a")))
    train = dataset.train >> train
    evaluate = (Pipeline()
                .load()
                .import_model("net", train)
                .predict_model("net", inputs=B("images"), save_to=B("predictions")))
    evaluate = dataset.test >> evaluate
    metrics: dict = {}
    for epoch in range(config["epochs"]):
        train.run(config["batch_size"], shuffle=run.seed + epoch, prefetch=1)
        scores = ClassificationMetrics(10)
        for batch in evaluate.gen_batch(256):
            scores.update(batch.labels, batch.predictions)
        metrics = {"loss": float(np.mean(train.v("loss"))), "accuracy": scores.evaluate("accuracy"),
                   "f1": scores.evaluate("f1")}
        run.log(step=epoch + 1, **metrics)
        run.progress(epoch + 1, config["epochs"])
    return metrics


@recipe(name="digits-mlp", description="MLP on scikit-learn's 8x8 digits",
        params={"lr": Param(3e-3, help=LR_HELP), "hidden": Param(128, help="units of the one hidden layer"),
                "epochs": Param(8, help=EPOCHS_HELP), "batch_size": Param(64, help=BATCH_HELP, unit="digits"),
                "framework": FRAMEWORK, "seed": Param(0, help=SEED_HELP)},
        requires=NEEDS)
def digits_mlp(run):
    """An MLP classifier of the 8x8 digits; returns its test-set accuracy."""
    config = run.config
    dataset = digits_dataset(config["seed"], (64,))
    model_config = {"inputs": (64,), "classes": 10, "model": {"name": "MLP", "units": [config["hidden"]]},
                    "loss": "ce", "optimizer": {"name": "Adam", "lr": config["lr"]}, "seed": config["seed"],
                    "device": _device(run, config["framework"])}
    return train_and_evaluate(run, dataset, model_config, config["framework"])


@recipe(name="digits-cnn", description="A small VGG or ResNet on scikit-learn's 8x8 digits",
        params={"arch": Param("VGG", choices=("VGG", "ResNet"),
                              help="VGG: two convolution blocks and a 64-unit layer; ResNet: two residual blocks"),
                "lr": Param(3e-3, help=LR_HELP),
                "filters": Param(16, help="filters of the first convolution block; the second has twice as many"),
                "epochs": Param(6, help=EPOCHS_HELP), "batch_size": Param(64, help=BATCH_HELP, unit="digits"),
                "framework": FRAMEWORK, "seed": Param(0, help=SEED_HELP)},
        requires=NEEDS)
def digits_cnn(run):
    """A convolutional classifier of the 8x8 digits; returns its test-set accuracy."""
    config = run.config
    torch_layout = config["framework"] == "torch"
    shape = (1, 8, 8) if torch_layout else (8, 8, 1)
    filters = [config["filters"], config["filters"] * 2]
    arch = {"name": config["arch"], "filters": filters}
    if config["arch"] == "VGG":
        arch["units"] = [64]
    model_config = {"inputs": shape, "classes": 10, "model": arch, "loss": "ce",
                    "optimizer": {"name": "Adam", "lr": config["lr"]}, "seed": config["seed"],
                    "device": _device(run, config["framework"])}
    return train_and_evaluate(run, digits_dataset(config["seed"], shape), model_config, config["framework"])


def _device(run, framework: str) -> list[str]:
    # every device the run was given: --num-gpus 2 splits each batch over both GPUs (two CPU
    # replicas where the GPUs are simulated); one device is a one-entry list
    print(f"{framework} model on {run.devices}", flush=True)
    return run.devices
