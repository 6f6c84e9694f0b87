"""A recipe says what it needs installed (``requires=``), and a launch the install cannot run is refused
with the extra to install (issue 20, point 15): by `tuiflow run` (one line, exit 2, nothing stored), by
`Lab.plan`, and by the runner for a run stored before. Nothing is uninstalled: a meta-path finder in the
subprocess blocks the module, as a core install lacks it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

from tuiflow import lab
from tuiflow.recipes import EXTRAS, Param, RecipeError, recipe, recipe_of

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = """
import importlib.abc, sys
blocked = set({blocked!r})
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, TUIFLOW_HOME=str(home), TUIFLOW_FAKE_GPUS="2",
               TUIFLOW_FAKE_GPUS_STATE=str(home.parent / "fake-gpus"))
    env.pop("TUIFLOW_RECIPES", None)
    return env


def python(code: str, home: Path, blocked: set[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where the ``blocked`` modules cannot be found."""
    return subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=sorted(blocked)) + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=ROOT, env=env_for(home), timeout=timeout)


def tuiflow_without(home: Path, blocked: set[str], *args: str) -> subprocess.CompletedProcess:
    return python(f"import sys\nsys.argv = ['tuiflow', *{list(args)!r}]\nfrom tuiflow.cli import main\nmain()\n",
                  home, blocked)


@pytest.mark.parametrize(("blocked", "args", "said"), [
    ({"sklearn"}, ["digits-mlp", "--reps", "4"],
     "recipe 'digits-mlp', parameter 'framework': 'torch' needs pip install 'tuiflow[torch]' "
     "(no module named 'sklearn' here)"),
    ({"torch"}, ["digits-cnn", "--grid", "lr=0.1,0.01"],
     "recipe 'digits-cnn', parameter 'framework': 'torch' needs pip install 'tuiflow[torch]' "
     "(no module named 'torch' here)"),
    ({"tensorflow"}, ["digits-mlp", "--grid", "framework=torch,tf"],
     "recipe 'digits-mlp', parameter 'framework': 'tf' needs pip install 'tuiflow[tf]' "
     "(no module named 'tensorflow' here)"),
    ({"tensorflow"}, ["segmentation-unet", "--set", "framework=tf"],
     "recipe 'segmentation-unet', parameter 'framework': 'tf' needs pip install 'tuiflow[tf]' "
     "(no module named 'tensorflow' here)"),
    ({"sklearn"}, ["images-augment"],
     "recipe 'images-augment', parameter 'folder': '' needs pip install scikit-learn (no module named 'sklearn' here)"),
])  # fmt: skip
def test_run_refuses_a_recipe_the_install_cannot_run_in_one_line(tmp_path: Path, blocked: set[str], args: list[str],
                                                                 said: str) -> None:
    home = tmp_path / "home"
    result = tuiflow_without(home, blocked, "run", *args)
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    assert result.stderr == f"tuiflow: error: {said}\n"
    assert result.stdout == ""
    assert not home.exists()  # nothing stored: not even a home


def test_what_one_value_needs_is_not_asked_of_another(tmp_path: Path) -> None:
    """Without TensorFlow, torch runs of the same recipe are planned as before."""
    home = tmp_path / "home"
    result = python("""
        from tuiflow import lab
        plan = lab.open(missing_ok=True).plan("digits-mlp", grid={"lr": [0.1, 0.01]}, reps=2)
        print(len(plan))
    """, home, {"tensorflow"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"


def test_lab_plan_names_the_parameter_and_the_extra(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = python("""
        import json
        from tuiflow import lab
        home = lab.open(missing_ok=True)
        try:
            home.plan("digits-mlp", reps=4)
        except lab.ParamError as exc:
            print(json.dumps({"param": exc.param, "reason": exc.reason, "lab_error": isinstance(exc, lab.LabError)}))
        unchecked = home.plan("digits-mlp", reps=4, check_installed=False)
        print(json.dumps([[p.param, p.reason] for p in home.unmet(unchecked)]))
    """, home, {"sklearn"})
    assert result.returncode == 0, result.stderr
    refused, unmet = (json.loads(line) for line in result.stdout.splitlines())
    reason = ("recipe 'digits-mlp', parameter 'framework': 'torch' needs pip install 'tuiflow[torch]' "
              "(no module named 'sklearn' here)")
    assert refused == {"param": "framework", "reason": reason, "lab_error": True}
    assert unmet == [["framework", reason]]


NEEDY = '''
from tuiflow import recipe

@recipe(name="needy", params={"mode": ["plain", "fancy"]},
        requires={"mode": {"fancy": "tuiflow_test_no_such_module"}})
def needy(run):
    if run.config["mode"] == "fancy":
        import tuiflow_test_no_such_module  # noqa: F401
    return {"ok": 1}
'''


def test_the_runner_refuses_a_run_stored_before_the_install_lost_what_it_needs(tmp_path: Path) -> None:
    """A run queued by a plan that did not check (or an install that changed since) fails at once
    saying what to install, not with a bare ModuleNotFoundError from inside the recipe."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "needy.py").write_text(NEEDY)
    home = tmp_path / "home"
    with lab.open(home, create=True) as opened:
        opened.use_recipe_dirs([recipes])
        with pytest.raises(lab.ParamError, match="'fancy' needs the module 'tuiflow_test_no_such_module'"):
            opened.plan("needy", overrides={"mode": "fancy"})
        plan = opened.plan("needy", grid={"mode": ["plain", "fancy"]}, check_installed=False)
        submission = opened.launch(plan, gpus=[], foreground=True)
        finished = opened.run_foreground(submission.run_ids)
    by_mode = {run.config["mode"]: run for run in finished}
    assert by_mode["plain"].status == "done"
    fancy = by_mode["fancy"]
    assert fancy.status == "failed"
    assert fancy.error == ("MissingRequirement: recipe 'needy', parameter 'mode': 'fancy' needs the module "
                           "'tuiflow_test_no_such_module' (no module named 'tuiflow_test_no_such_module' here)")


def test_a_malformed_requires_is_an_error_at_once() -> None:
    def body(run):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(RecipeError, match="requires= names 'frame', which is not one of its parameters"):
        recipe(name="a", params={"framework": ["torch", "tf"]}, requires={"frame": {"torch": "tuiflow[torch]"}})(body)
    with pytest.raises(RecipeError, match="'jax' is not one of 'torch', 'tf'"):
        recipe(name="b", params={"framework": ["torch", "tf"]}, requires={"framework": {"jax": "jax"}})(body)
    with pytest.raises(RecipeError, match=r"names 'tuiflow\[torh\]', which tuiflow does not have; its extras: "
                                          r"tuiflow\[torch\], tuiflow\[tf\]"):
        recipe(name="c", requires="tuiflow[torh]")(body)
    with pytest.raises(RecipeError, match="takes tuiflow\\[extra\\] or a module name, not 'no such'"):
        recipe(name="d", requires=["no such"])(body)
    made = recipe_of(recipe(name="e", params={"n": Param(1, help="how many", unit="s")},
                            requires=["tuiflow[stats]", {"n": {2: "lightgbm"}}])(body))
    assert made is not None
    assert [(n.spec, n.param, n.value) for n in made.requires] == [("tuiflow[stats]", None, None),
                                                                  ("lightgbm", "n", 2)]
    assert made.to_json()["params"]["n"] == {"default": 1, "type": "int", "choices": None, "help": "how many",
                                             "unit": "s"}


def test_the_extras_table_is_pyprojects() -> None:
    """Every extra of pyproject.toml is in the table, with a module for each of its distributions."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name, requirements in extras.items():
        if name == "dev":
            continue
        dists = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in requirements}
        dists = {"tensorflow" if dist == "tensorflow-cpu" else dist for dist in dists}
        assert set(EXTRAS.get(name, {}).values()) == dists, name
    assert set(EXTRAS) == set(extras) - {"dev"}


def test_every_parameter_of_the_shipped_recipes_has_help() -> None:
    shelf = lab.Lab(Path())
    for info in shelf.recipes():
        if Path(info.file).parent != ROOT / "recipes":
            continue
        missing = [name for name, param in info.params.items() if not param.help]
        assert missing == [], info.name


def test_recipes_says_what_each_recipe_needs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tuiflow", "recipes"], capture_output=True, text=True, cwd=ROOT,
                            env={**env_for(tmp_path / "home"), "COLUMNS": "250"}, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "digits-mlp" in line)
    assert "(needs tuiflow[torch] with framework='torch', tuiflow[tf] with framework='tf')" in line
    assert "needs" not in next(line for line in result.stdout.splitlines() if "│ sleep" in line)


def test_a_clone_opens_the_form_and_leaves_the_missing_extra_to_it(tmp_path: Path) -> None:
    """History's n on a run the install can no longer run opens Launch with its values (the form says
    what is missing); `Lab.clone_plan` itself refuses it as `plan` does."""
    home = tmp_path / "home"
    with lab.open(home, create=True) as opened:
        run_id = opened.launch(opened.plan("digits-mlp", overrides={"hidden": 32}), start_daemon=False).run_ids[0]
    result = python(f"""
        from tuiflow import lab
        from tuiflow.tui.data import LabData
        print(LabData({str(home)!r}).clone_source({run_id}))
        try:
            lab.open({str(home)!r}).clone_plan({run_id})
        except lab.ParamError as exc:
            print(exc.param, exc.reason)
    """, home, {"sklearn"})
    assert result.returncode == 0, result.stderr
    cloned, refused = result.stdout.splitlines()
    assert cloned.startswith("('digits-mlp', {") and "'hidden': 32" in cloned and "'framework': 'torch'" in cloned
    assert refused.startswith("framework recipe 'digits-mlp', parameter 'framework': 'torch' needs pip install")
