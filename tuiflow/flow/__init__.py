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
    ConfigError,
    ConfigKeyTypeError,
    DatasetIndexError,
    DatasetIndexTypeError,
    ExpressionError,
    FlowError,
    SamplerError,
)
from tuiflow.flow.images import ImageItem, ImagesBatch, image_action
from tuiflow.flow.index import DatasetIndex, FilesIndex
from tuiflow.flow.item_expr import PP, L
from tuiflow.flow.named_expr import B, C, D, F, I, NamedExpression, V
from tuiflow.flow.observe import add_observer, remove_observer
from tuiflow.flow.parallel import apply_parallel, inbatch_parallel
from tuiflow.flow.pipeline import Pipeline, save_data_to
from tuiflow.flow.random_expr import P, R
from tuiflow.flow.sampler import make_rng
from tuiflow.flow.steps import register_pipeline_action

__all__ = [
    "PP",
    "ActionArgumentError",
    "ActionError",
    "ActionNotFoundError",
    "B",
    "Batch",
    "C",
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
    "Pipeline",
    "R",
    "Sampler",
    "SamplerError",
    "ScipySampler",
    "V",
    "action",
    "add_observer",
    "apply_parallel",
    "image_action",
    "inbatch_parallel",
    "make_rng",
    "register_action",
    "register_pipeline_action",
    "remove_observer",
    "save_data_to",
]
