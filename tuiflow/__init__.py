"""tuiflow: a terminal workbench for machine-learning experiments.

``import tuiflow`` is light: it brings the pipeline engine (numpy only), the model classes and the
recipe decorator, and none of torch, tensorflow, textual, ray or rich (frameworks load on first use).
"""

from tuiflow._version import __version__
from tuiflow.flow import (
    ActionArgumentError,
    ActionError,
    ActionNotFoundError,
    B,
    Batch,
    C,
    Config,
    D,
    Dataset,
    DatasetIndex,
    DatasetIndexError,
    Domain,
    ExpressionError,
    F,
    FilesIndex,
    FlowError,
    I,
    NamedExpression,
    Option,
    P,
    Pipeline,
    R,
    V,
    action,
    inbatch_parallel,
    register_action,
)
from tuiflow.models import ClassificationMetrics, SegmentationMetrics, TFModel, TorchModel
from tuiflow.recipes import Param, recipe

__all__ = [
    "ActionArgumentError",
    "ActionError",
    "ActionNotFoundError",
    "B",
    "Batch",
    "C",
    "ClassificationMetrics",
    "Config",
    "D",
    "Dataset",
    "DatasetIndex",
    "DatasetIndexError",
    "Domain",
    "ExpressionError",
    "F",
    "FilesIndex",
    "FlowError",
    "I",
    "NamedExpression",
    "Option",
    "P",
    "Param",
    "Pipeline",
    "R",
    "SegmentationMetrics",
    "TFModel",
    "TorchModel",
    "V",
    "__version__",
    "action",
    "inbatch_parallel",
    "recipe",
    "register_action",
]
