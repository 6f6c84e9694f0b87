"""The top-level package exports every public class of the engine, as BatchFlow's does, and stays lazy."""

from __future__ import annotations

import subprocess
import sys

import tuiflow
import tuiflow.flow


def test_every_public_class_of_the_engine_is_a_name_of_tuiflow():
    classes = {name for name in tuiflow.flow.__all__ if isinstance(getattr(tuiflow.flow, name), type)}
    assert {"ImagesBatch", "L", "PP", "ImageItem", "DatasetIndexTypeError", "ConfigError"} <= classes
    missing = sorted(classes - set(tuiflow.__all__))
    assert missing == []
    for name in ("apply_parallel", "make_rng", "save_data_to", "image_action"):
        assert getattr(tuiflow, name) is getattr(tuiflow.flow, name)


def test_the_names_load_on_first_use_without_pandas_or_scipy():
    probe = ("import sys, tuiflow; before = 'tuiflow.flow' in sys.modules; "
             "from tuiflow import ImagesBatch, L, PP, apply_parallel; "
             "print(before, 'tuiflow.flow' in sys.modules, 'pandas' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False", "False"]
