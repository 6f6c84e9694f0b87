"""Model pipeline actions: init, train, predict, save, load and import models inside pipelines."""

from __future__ import annotations

import numpy as np
import pytest

from tuiflow import B, Batch, ClassificationMetrics, Dataset, Pipeline, V
from tuiflow.flow import ActionError


class DigitsBatch(Batch):
    components = ("images", "labels")


@pytest.fixture
def dataset(digits):
    inputs, targets = digits
    ds = Dataset(len(inputs), batch_class=DigitsBatch, preloaded=(inputs, targets))
    ds.split(0.8, shuffle=0)
    return ds


CONFIG = {"inputs": (64,), "classes": 10, "model": {"name": "MLP", "units": [64]}, "loss": "ce",
          "optimizer": {"name": "Adam", "lr": 3e-3}, "seed": 0, "device": "cpu"}


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_train_predict_save_load_and_import_in_pipelines(framework, dataset, tmp_path):
    train = dataset.train >> (Pipeline()
                              .init_variable("loss", list)
                              .load()
                              .init_model("mlp", framework, CONFIG)
                              .train_model("mlp", inputs=B("images"), targets=B("labels"), fetches="loss",
                                           save_to=V("loss", mode="a")))
    train.run(64, n_epochs=4, shuffle=0)
    losses = train.v("loss")
    assert len(losses) == 4 * 23 and np.mean(losses[-10:]) < np.mean(losses[:10]) / 2
    assert len(train.models) == 1  # built on the first batch, reused after

    evaluate = dataset.test >> (Pipeline().load().import_model("mlp", train)
                                .predict_model("mlp", inputs=B("images"), save_to=B("predictions")))
    scores = ClassificationMetrics(10)
    for batch in evaluate.gen_batch(100):
        assert batch.predictions.shape == (len(batch), 10)
        scores.update(batch.labels, batch.predictions)
    assert scores.evaluate("accuracy") > 0.85

    saver = dataset.test >> Pipeline().import_model("mlp", train).save_model("mlp", tmp_path / "mlp")
    saver.run(len(dataset.test))
    loaded = dataset.test >> (Pipeline().load().load_model("mlp", tmp_path / "mlp")
                              .predict_model("mlp", inputs=B("images"), save_to=B("predictions")))
    (first,) = list(evaluate.gen_batch(len(dataset.test)))
    (second,) = list(loaded.gen_batch(len(dataset.test)))
    np.testing.assert_allclose(first.predictions, second.predictions, rtol=1e-5, atol=1e-5)


def test_a_missing_model_is_an_action_error_that_says_how_to_add_it(dataset):
    ppl = dataset.test >> Pipeline().load().predict_model("nope", inputs=B("images"))
    with pytest.raises(ActionError, match=r"no model 'nope'.*init_model"):
        ppl.run(10)


def test_a_wrong_model_class_fails_on_the_first_batch(dataset):
    ppl = dataset.test >> Pipeline().load().init_model("m", "jax", CONFIG)
    with pytest.raises(ActionError, match="expected TorchModel, TFModel, 'torch' or 'tf'"):
        ppl.run(10)
