"""Pipeline actions for models: ``init_model``, ``train_model``, ``predict_model``, ``save_model``,
``load_model`` and ``import_model``.

They keep models in the pipeline's shared state, so a pipeline bound to another dataset
(``ds.test >> ppl``) sees the models its template trained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuiflow.flow import register_pipeline_action
from tuiflow.models.base import Model
from tuiflow.models.registry import resolve_model_class


def _model(ctx: Any, name: str) -> Model:
    try:
        return ctx.state.models[name]
    except KeyError:
        known = ", ".join(sorted(ctx.state.models)) or "none yet"
        raise KeyError(f"the pipeline has no model {name!r} (models: {known}); add .init_model({name!r}, ...) "
                       "or .load_model(...) before it") from None


def init_model(ctx: Any, name: str, model_class: Any = "torch", config: Mapping[str, Any] | None = None) -> None:
    """Build model ``name`` from ``config`` on the first batch (``model_class``: TorchModel, TFModel,
    "torch" or "tf"); later batches reuse it."""
    if name not in ctx.state.models:
        ctx.state.models[name] = resolve_model_class(model_class)(dict(config or {}))


def train_model(ctx: Any, name: str, inputs: Any, targets: Any, fetches: str | Sequence[str] | None = "loss") -> Any:
    """One optimisation step of model ``name``; returns the fetches (keep them with ``save_to=``)."""
    models = ctx.state.models
    model = models[name] if name in models else _model(ctx, name)
    return model.train(inputs, targets, fetches=fetches)


def predict_model(ctx: Any, name: str, inputs: Any) -> Any:
    """The outputs of model ``name`` for ``inputs`` (keep them with ``save_to=B("predictions")``)."""
    return _model(ctx, name).predict(inputs)


def save_model(ctx: Any, name: str, path: str | Path) -> None:
    """Save model ``name`` to ``path`` (a folder: config JSON and weights) at every call."""
    _model(ctx, name).save(Path(path))


def load_model(ctx: Any, name: str, path: str | Path, model_class: Any = None) -> None:
    """Load model ``name`` from ``path`` on the first batch; later batches reuse it."""
    if name not in ctx.state.models:
        cls = Model if model_class is None else resolve_model_class(model_class)
        ctx.state.models[name] = cls.load(Path(path))


def import_model(ctx: Any, name: str, source: Any) -> None:
    """Use the model ``name`` of pipeline ``source`` (e.g. a trained one in a test pipeline)."""
    if name not in ctx.state.models:
        models = getattr(source, "models", source)
        if name not in models:
            raise KeyError(f"the source pipeline has no model {name!r}")
        ctx.state.models[name] = models[name]


# None of them changes a batch's arrays or keeps them: a run may load in-order batches as views.
for _action in (init_model, train_model, predict_model, save_model, load_model, import_model):
    register_pipeline_action(_action.__name__, _action, reads_batch=True)
