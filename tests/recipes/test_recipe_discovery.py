"""Recipe files: discovery from every source, broken files beside good ones, duplicate names."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tuiflow.recipes import SHIPPED, RecipeError, discover, load_file, recipe_dirs

GOOD = """
from tuiflow import recipe

@recipe(name="{name}", description="a test recipe", params={{"n": 3, "mode": ["a", "b"]}})
def go(run):
    return {{"n": run.config["n"], "mode": run.config["mode"]}}
"""


def write(folder: Path, filename: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_recipes_are_found():
    catalog = discover(cwd="/")
    assert {"digits-mlp", "digits-cnn", "segmentation-unet", "sleep", "images-augment"} <= set(catalog.recipes)
    assert catalog.problems == []
    assert Path(catalog.recipes["sleep"].file).parent == SHIPPED


def test_sources_in_order_without_duplicates(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    monkeypatch.setenv("TUIFLOW_RECIPES", f"{a}:{b}:{a}")
    dirs = recipe_dirs([c, b], cwd=tmp_path)
    assert dirs == [SHIPPED, (tmp_path / "recipes").resolve(), a.resolve(), b.resolve(), c.resolve()]


def test_every_source_contributes(tmp_path, monkeypatch):
    write(tmp_path / "project" / "recipes", "local.py", GOOD.format(name="from-cwd"))
    write(tmp_path / "env1", "one.py", GOOD.format(name="from-env-1"))
    write(tmp_path / "env2", "two.py", GOOD.format(name="from-env-2"))
    write(tmp_path / "cli", "three.py", GOOD.format(name="from-cli"))
    monkeypatch.setenv("TUIFLOW_RECIPES", f"{tmp_path / 'env1'}:{tmp_path / 'env2'}")
    catalog = discover([tmp_path / "cli"], cwd=tmp_path / "project")
    assert {"from-cwd", "from-env-1", "from-env-2", "from-cli", "sleep"} <= set(catalog.recipes)
    assert catalog.recipes["from-cli"].file == str((tmp_path / "cli" / "three.py").resolve())


def test_broken_files_are_reported_and_the_others_still_load(tmp_path):
    folder = tmp_path / "mixed"
    write(folder, "good.py", GOOD.format(name="good-one"))
    write(folder, "syntax.py", "def broken(:\n    pass\n")
    write(folder, "imports.py", "import module_that_does_not_exist_anywhere\n")
    write(folder, "raises.py", "x = 1\nraise RuntimeError('boom at import')\n")
    write(folder, "_private.py", "raise SystemExit('never imported')\n")
    catalog = discover([folder], cwd=tmp_path)
    assert "good-one" in catalog.recipes
    problems = {Path(p.path).name: p.message for p in catalog.problems}
    assert set(problems) == {"syntax.py", "imports.py", "raises.py"}
    assert problems["syntax.py"].startswith("syntax error at line 1")
    assert "ModuleNotFoundError" in problems["imports.py"] and "module_that_does_not_exist_anywhere" in problems[
        "imports.py"]
    assert problems["raises.py"] == "RuntimeError: boom at import (line 2)"
    assert str(catalog.problems[0]).startswith(str(folder.resolve()))


def test_a_file_that_exits_at_import_is_a_problem_not_the_end_of_the_catalog(tmp_path):
    # A script turned recipe file often parses its arguments at import: argparse then calls sys.exit,
    # which used to end `tuiflow recipes` with exit code 2 and argparse's usage of the wrong program.
    folder = tmp_path / "scripts"
    write(folder, "good.py", GOOD.format(name="good-one"))
    write(folder, "script.py", "import argparse\nparser = argparse.ArgumentParser()\nparser.parse_args(['--lr'])\n")
    write(folder, "quits.py", "import sys\nsys.exit(0)\n")
    catalog = discover([folder], cwd=tmp_path)
    assert "good-one" in catalog.recipes
    problems = {Path(p.path).name: p.message for p in catalog.problems}
    assert problems == {"script.py": "it calls sys.exit(2) when imported (line 3)",
                        "quits.py": "it calls sys.exit(0) when imported (line 2)"}
    with pytest.raises(RecipeError, match=r"quits\.py: it calls sys\.exit\(0\) when imported"):
        load_file(folder / "quits.py")


def test_two_recipes_with_one_name_is_an_error_naming_both_files(tmp_path):
    first = write(tmp_path / "one", "a.py", GOOD.format(name="twin"))
    second = write(tmp_path / "two", "b.py", GOOD.format(name="twin"))
    catalog = discover([tmp_path / "one", tmp_path / "two"], cwd=tmp_path)
    with pytest.raises(RecipeError) as info:
        catalog.get("twin")
    message = str(info.value)
    assert str(first.resolve()) in message and str(second.resolve()) in message
    assert "twin" not in catalog.recipes
    assert any("twin" in problem.message for problem in catalog.problems)


def test_shadowing_a_shipped_recipe_is_a_duplicate_too(tmp_path):
    write(tmp_path / "mine", "sleep.py", GOOD.format(name="sleep"))
    catalog = discover([tmp_path / "mine"], cwd=tmp_path)
    with pytest.raises(RecipeError, match="two recipes are named 'sleep'"):
        catalog.get("sleep")


def test_unknown_recipe_suggests_a_name():
    with pytest.raises(RecipeError, match=r"no recipe named 'digits-mpl' \(did you mean 'digits-mlp'\?\)"):
        discover(cwd="/").get("digits-mpl")


def test_a_missing_cli_folder_is_reported(tmp_path):
    catalog = discover([tmp_path / "nowhere"], cwd=tmp_path)
    assert [p.message for p in catalog.problems] == ["not a folder"]


def test_load_file_raises_without_a_problem_list(tmp_path):
    path = write(tmp_path, "bad.py", "1/0\n")
    with pytest.raises(RecipeError, match=r"bad\.py: ZeroDivisionError"):
        load_file(path)


def test_recipes_imported_from_elsewhere_are_not_counted_twice(tmp_path):
    write(tmp_path / "lib", "base.py", GOOD.format(name="base-recipe"))
    write(tmp_path / "lib", "reexport.py", "from tuiflow import recipe\n\n@recipe(name='own')\ndef own(run):\n"
                                             "    return None\n")
    catalog = discover([tmp_path / "lib"], cwd=tmp_path)
    assert {"base-recipe", "own"} <= set(catalog.recipes)
    assert catalog.problems == []
