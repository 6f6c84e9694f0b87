"""tuiflow: a terminal workbench for machine-learning experiments.

``import tuiflow`` is light: it brings the pipeline engine (numpy only) and none of torch,
tensorflow, textual, ray or rich.
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
    ExpressionError,
    F,
    FilesIndex,
    FlowError,
    I,
    NamedExpression,
    P,
    Pipeline,
    R,
    V,
    action,
    inbatch_parallel,
    register_action,
)

__all__ = [
    "ActionArgumentError", "ActionError", "ActionNotFoundError", "B", "Batch", "C", "Config", "D", "Dataset",
    "DatasetIndex", "ExpressionError", "F", "FilesIndex", "FlowError", "I", "NamedExpression", "P", "Pipeline",
    "R", "V", "__version__", "action", "inbatch_parallel", "register_action",
]
