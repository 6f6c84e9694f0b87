"""A built wheel carries the shipped recipes, and tuiflow installed from it lists them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_NAMES = {"digits-mlp", "digits-cnn", "images-augment", "segmentation-unet", "sleep"}
# What the build reads. It is copied because setuptools writes build/ and *.egg-info into the source
# folder, and a stale build/lib left there by an earlier build would put deleted modules into the wheel.
BUILD_INPUTS = ("pyproject.toml", "README.md", "tuiflow", "recipes")


def pip(*args: str) -> subprocess.CompletedProcess:
    # Offline: no index, no build isolation (setuptools and wheel come with the dev extra).
    result = subprocess.run([sys.executable, "-m", "pip", *args, "--no-index", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """tuiflow's wheel, built from a copy of this checkout."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(source))
    (built,) = (base / "dist").glob("tuiflow-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A folder with tuiflow installed from the wheel (its dependencies come from this environment)."""
    target = tmp_path_factory.mktemp("installed")
    pip("install", "--no-deps", "--no-compile", "--target", str(target), str(wheel))
    return target


def python_from(target: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Python with ``target`` first on its path, so tuiflow comes from there and not the editable install."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "TUIFLOW_RECIPES"}}
    env.update(PYTHONPATH=str(target), TUIFLOW_HOME=str(cwd / "home"))
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_the_installed_wheel_lists_the_shipped_recipes_from_itself(installed, tmp_path):
    # tmp_path has no recipes/ folder: whatever is listed comes from the installed package.
    probe = ("import json, sys, tuiflow; print(json.dumps({'file': tuiflow.__file__, 'recipe_modules': "
             "[m for m in sys.modules if m.startswith(('tuiflow._recipes', 'tuiflow_recipe_'))]}))")
    imported = json.loads(python_from(installed, "-c", probe, cwd=tmp_path).stdout)
    assert Path(imported["file"]).resolve().is_relative_to(installed.resolve())
    assert imported["recipe_modules"] == []  # recipe files are loaded by path when asked for, never on import

    listed = json.loads(python_from(installed, "-m", "tuiflow", "recipes", "--json", cwd=tmp_path).stdout)
    files = {item["name"]: Path(item["file"]) for item in listed}
    assert set(files) == SHIPPED_NAMES
    for name, file in files.items():
        assert file.resolve().is_relative_to((installed / "tuiflow" / "_recipes").resolve()), name


def test_the_wheel_holds_every_module_of_the_package_and_every_shipped_recipe(wheel):
    # pyproject.toml lists the packages one by one; a new subpackage left out of that list fails here.
    in_wheel = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    package = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tuiflow").rglob("*.py")
               if "__pycache__" not in path.parts}
    recipes = {f"tuiflow/_recipes/{path.name}" for path in (ROOT / "recipes").glob("*.py")}
    assert package | recipes == in_wheel
