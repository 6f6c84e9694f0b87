"""tuiflow: a terminal workbench for machine-learning experiments.

``import tuiflow`` is light: the public names below (the pipeline engine, the model classes, the
recipe decorator) are loaded on first use, so a client that only needs ``tuiflow.lab`` or the app
never imports the engine or numpy. ``from tuiflow import Batch`` works as it always did. None of
torch, tensorflow, textual, ray or rich is imported by any of them (frameworks load on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuiflow._version import __version__

# Each public name and the module that defines it (PEP 562: looked up by `__getattr__` on first use).
_ENGINE = "tuiflow.flow"
_MODELS = "tuiflow.models"
_RECIPES = "tuiflow.recipes"
_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("ActionArgumentError", "ActionError", "ActionNotFoundError", "B", "Batch", "C", "Config", "D", "Dataset",
         "DatasetIndex", "DatasetIndexError", "Domain", "ExpressionError", "F", "FilesIndex", "FlowError", "I",
         "NamedExpression", "Option", "P", "Pipeline", "R", "V", "action", "inbatch_parallel", "register_action"),
        _ENGINE),
    **dict.fromkeys(("ConstantSampler", "HistoSampler", "NumpySampler", "Sampler", "SamplerError", "ScipySampler"),
                    _ENGINE),
    # BatchFlow's names (issue 14): the item-wise expressions, apply_parallel, ImagesBatch, helpers
    **dict.fromkeys(("ConfigError", "ConfigKeyTypeError", "DatasetIndexTypeError", "ImageItem", "ImagesBatch", "L",
                     "PP", "apply_parallel", "image_action", "make_rng", "save_data_to"), _ENGINE),
    **dict.fromkeys(("ClassificationMetrics", "SegmentationMetrics", "TFModel", "TorchModel"), _MODELS),
    **dict.fromkeys(("Param", "recipe"), _RECIPES),
}

if TYPE_CHECKING:  # what type checkers and editors see: the names as if imported here
    from tuiflow.flow import (
        PP,
        ActionArgumentError,
        ActionError,
        ActionNotFoundError,
        B,
        Batch,
        C,
        Config,
        ConfigError,
        ConfigKeyTypeError,
        ConstantSampler,
        D,
        Dataset,
        DatasetIndex,
        DatasetIndexError,
        DatasetIndexTypeError,
        Domain,
        ExpressionError,
        F,
        FilesIndex,
        FlowError,
        HistoSampler,
        I,
        ImageItem,
        ImagesBatch,
        L,
        NamedExpression,
        NumpySampler,
        Option,
        P,
        Pipeline,
        R,
        Sampler,
        SamplerError,
        ScipySampler,
        V,
        action,
        apply_parallel,
        image_action,
        inbatch_parallel,
        make_rng,
        register_action,
        save_data_to,
    )
    from tuiflow.models import ClassificationMetrics, SegmentationMetrics, TFModel, TorchModel
    from tuiflow.recipes import Param, recipe


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, and keep it here for the next."""
    module_name = _NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tuiflow' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    if module_name == _ENGINE:
        # The model actions (init_model, train_model, ...) register themselves with the engine when
        # tuiflow.models is imported: a pipeline built from `tuiflow`'s names has them, as it always had.
        importlib.import_module(_MODELS)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES})


__all__ = [
    "PP",
    "ActionArgumentError",
    "ActionError",
    "ActionNotFoundError",
    "B",
    "Batch",
    "C",
    "ClassificationMetrics",
    "Config",
    "ConfigError",
    "ConfigKeyTypeError",
    "ConstantSampler",
    "D",
    "Dataset",
    "DatasetIndex",
    "DatasetIndexError",
    "DatasetIndexTypeError",
    "Domain",
    "ExpressionError",
    "F",
    "FilesIndex",
    "FlowError",
    "HistoSampler",
    "I",
    "ImageItem",
    "ImagesBatch",
    "L",
    "NamedExpression",
    "NumpySampler",
    "Option",
    "P",
    "Param",
    "Pipeline",
    "R",
    "Sampler",
    "SamplerError",
    "ScipySampler",
    "SegmentationMetrics",
    "TFModel",
    "TorchModel",
    "V",
    "__version__",
    "action",
    "apply_parallel",
    "image_action",
    "inbatch_parallel",
    "make_rng",
    "recipe",
    "register_action",
    "save_data_to",
]
