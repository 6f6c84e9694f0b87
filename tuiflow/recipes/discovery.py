"""Finding recipes: the recipes shipped with tuiflow, ./recipes, $TUIFLOW_RECIPES and --recipes.

Each ``*.py`` file of those folders is imported on its own; a file that fails to import is reported
with its path and error, and the others still load. Two recipes with one name is an error that
names both files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tuiflow.recipes.params import RecipeError
from tuiflow.recipes.recipe import Recipe, recipe_of


def _shipped() -> Path:
    """The shipped recipes: tuiflow/_recipes in an installed wheel, else recipes/ beside the package."""
    package = Path(__file__).resolve().parents[1]
    # A wheel puts the top-level recipes/ inside the package (pyproject.toml maps it); a checkout,
    # editable or not, has no tuiflow/_recipes and keeps them in the repository root.
    installed = package / "_recipes"
    return installed if installed.is_dir() else package.parent / "recipes"


SHIPPED = _shipped()


@dataclass(frozen=True)
class Problem:
    """A recipe file that could not be used."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Catalog:
    """The recipes found, by name, and the problems met on the way."""

    recipes: dict[str, Recipe] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> Recipe:
        """The recipe ``name``; an unknown or ambiguous name is a RecipeError."""
        if name in self.duplicates:
            files = " and ".join(self.duplicates[name])
            raise RecipeError(f"two recipes are named {name!r}: in {files}; rename one")
        try:
            return self.recipes[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, list(self.recipes), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(self.recipes)) or "none found"
            raise RecipeError(f"no recipe named {name!r}{hint}; known recipes: {known}") from None


def recipe_dirs(extra: Iterable[str | os.PathLike] = (), cwd: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order, without duplicates: shipped, ./recipes, $TUIFLOW_RECIPES, extra."""
    candidates = [SHIPPED, Path(cwd or os.getcwd()) / "recipes"]
    candidates += [Path(p) for p in os.environ.get("TUIFLOW_RECIPES", "").split(os.pathsep) if p]
    candidates += [Path(p) for p in extra]
    seen, dirs = set(), []
    for folder in candidates:
        resolved = folder.expanduser().resolve()
        if resolved not in seen:
            seen.add(resolved)
            dirs.append(resolved)
    return dirs


def discover(extra: Iterable[str | os.PathLike] = (), cwd: str | os.PathLike | None = None) -> Catalog:
    """Every recipe in the recipe folders (see :func:`recipe_dirs`)."""
    catalog = Catalog()
    extra = list(extra)
    for folder in recipe_dirs(extra, cwd):
        if not folder.is_dir():
            if str(folder) in {str(Path(p).expanduser().resolve()) for p in extra}:
                catalog.problems.append(Problem(str(folder), "not a folder"))
            continue
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for found in load_file(path, catalog.problems):
                _add(catalog, found)
    return catalog


def _add(catalog: Catalog, found: Recipe) -> None:
    if found.name in catalog.duplicates:
        catalog.duplicates[found.name].append(found.file)
    elif found.name in catalog.recipes:
        first = catalog.recipes.pop(found.name)
        catalog.duplicates[found.name] = [first.file, found.file]
        catalog.problems.append(Problem(found.file, f"recipe {found.name!r} is also defined in {first.file}"))
    else:
        catalog.recipes[found.name] = found


def load_file(path: str | os.PathLike, problems: list[Problem] | None = None) -> list[Recipe]:
    """The recipes of one file. Import errors go to ``problems`` (or raise when it is None)."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"tuiflow_recipe_{path.stem.replace('-', '_')}_{digest}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError("cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    except (Exception, SystemExit) as exc:  # a file that calls sys.exit (argparse, say) must not end tuiflow
        message = _describe(exc, path)
        if problems is None:
            raise RecipeError(f"{path}: {message}") from exc
        problems.append(Problem(str(path), message))
        return []
    found = []
    for value in list(vars(module).values()):
        marked = recipe_of(value)
        if marked is not None and getattr(value, "__module__", None) == module_name:
            found.append(replace(marked, file=str(path)))
    return found


def _describe(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError):
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    # The innermost frame of the recipe file itself says where the import went wrong.
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    where = f" (line {line})" if line else ""
    if isinstance(exc, SystemExit):
        return f"it calls sys.exit({exc.code!r}) when imported{where}"
    return f"{type(exc).__name__}: {exc}{where}"
