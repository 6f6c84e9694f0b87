"""tuiflow.flow: the pipeline engine (index -> dataset -> batch -> lazy pipeline of actions).

A library on its own: it imports nothing else of tuiflow, and no framework at import time.
"""

from tuiflow.flow.actions import action, register_action
from tuiflow.flow.batch import Batch
from tuiflow.flow.config import Config
from tuiflow.flow.dataset import Dataset
from tuiflow.flow.distributions import ConstantSampler, HistoSampler, NumpySampler, Sampler, ScipySampler
from tuiflow.flow.domain import Domain, Option
from tuiflow.flow.errors import (
    ActionArgumentError,
    ActionError,
    ActionNotFoundError,
    DatasetIndexError,
    ExpressionError,
    FlowError,
    SamplerError,
)
from tuiflow.flow.index import DatasetIndex, FilesIndex
from tuiflow.flow.named_expr import B, C, D, F, I, NamedExpression, V
from tuiflow.flow.observe import add_observer, remove_observer
from tuiflow.flow.parallel import inbatch_parallel
from tuiflow.flow.pipeline import Pipeline
from tuiflow.flow.random_expr import P, R
from tuiflow.flow.steps import register_pipeline_action

__all__ = [
    "ActionArgumentError",
    "ActionError",
    "ActionNotFoundError",
    "B",
    "Batch",
    "C",
    "Config",
    "ConstantSampler",
    "D",
    "Dataset",
    "DatasetIndex",
    "DatasetIndexError",
    "Domain",
    "ExpressionError",
    "F",
    "FilesIndex",
    "FlowError",
    "HistoSampler",
    "I",
    "NamedExpression",
    "NumpySampler",
    "Option",
    "P",
    "Pipeline",
    "R",
    "Sampler",
    "SamplerError",
    "ScipySampler",
    "V",
    "action",
    "add_observer",
    "inbatch_parallel",
    "register_action",
    "register_pipeline_action",
    "remove_observer",
]
