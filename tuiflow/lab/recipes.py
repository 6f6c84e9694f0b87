"""Recipes for clients: the catalog."""

from __future__ import annotations

import os
from collections.abc import Iterable

from tuiflow.recipes import Catalog, discover


def recipe_catalog(extra_dirs: Iterable[str | os.PathLike] = ()) -> Catalog:
    """Every recipe found: shipped, ./recipes, $TUIFLOW_RECIPES and ``extra_dirs``."""
    return discover(extra_dirs)
