"""The package as users meet it: import cost, the CLI, linters and the layer rules of docs/architecture.md."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tuiflow"


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120, **kwargs)


def test_import_tuiflow_brings_no_heavy_framework():
    code = ("import sys, json, tuiflow; "
            "print(json.dumps(sorted(m for m in ('torch', 'tensorflow', 'textual', 'ray', 'rich', 'sqlite_utils')"
            " if m in sys.modules)))")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_public_names_match_the_issue():
    import tuiflow

    for name in ("Dataset", "DatasetIndex", "FilesIndex", "Batch", "action", "inbatch_parallel", "Pipeline",
                 "B", "V", "C", "R", "P", "F", "I", "Config"):
        assert hasattr(tuiflow, name), name


def script(name: str) -> str:
    """A console script installed with tuiflow into the Python running the tests: beside it, not on PATH."""
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{name} is installed beside {sys.executable}"
    return str(path)


def test_cli_version_and_help():
    exe = script("tuiflow")
    version = run(exe, "--version")
    assert version.returncode == 0 and version.stdout.startswith("tuiflow ")
    help_text = run(exe, "--help")
    assert help_text.returncode == 0 and "demo" in help_text.stdout
    assert run(sys.executable, "-m", "tuiflow", "--version").stdout == version.stdout


def test_cli_demo_prints_the_profile_table():
    result = run(script("tuiflow"), "demo", "--items", "2000", "--epochs", "1", "--no-bar")
    assert result.returncode == 0, result.stderr
    for action in ("load #1", "normalize #1", "shift_one #1", "add_noise #1", "class_means #1", "update #1"):
        assert action in result.stdout
    assert "1,600 items in 25 batches" in result.stdout


def test_cli_rejects_bad_options_without_a_traceback():
    result = run(script("tuiflow"), "demo", "--items", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--items" in result.stderr


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _modules(under: Path):
    return [p for p in under.rglob("*.py") if "__pycache__" not in p.parts]


def test_flow_imports_nothing_else_of_tuiflow():
    offenders = {str(p.relative_to(ROOT)): name for p in _modules(PACKAGE / "flow") for name in _imports(p)
                 if name.startswith("tuiflow") and not name.startswith("tuiflow.flow")}
    assert offenders == {}


def test_only_the_tui_imports_textual():
    offenders = {str(p.relative_to(ROOT)): name for p in _modules(PACKAGE) for name in _imports(p)
                 if name.split(".")[0] == "textual" and "tui" not in p.relative_to(PACKAGE).parts[:1]}
    assert offenders == {}


def test_only_the_gpu_layer_knows_whether_gpus_are_simulated():
    """docs/architecture.md: everything above the GPU layer works the same on real and simulated GPUs, so only
    tuiflow/monitor reads TUIFLOW_FAKE_GPUS (docstrings may mention it)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules(PACKAGE) if "monitor" not in path.relative_to(PACKAGE).parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value == "TUIFLOW_FAKE_GPUS"
    ]
    assert offenders == []


def test_flow_imports_no_framework_at_import_time():
    heavy = {"torch", "tensorflow", "textual", "ray", "sqlite3", "sqlite_utils"}
    offenders = {}
    for path in _modules(PACKAGE / "flow"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: lazy imports inside functions are fine
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders.update({str(path): n for n in names if n.split(".")[0] in heavy})
    assert offenders == {}


def test_import_linter_contracts_hold():
    exe = script("lint-imports")  # installed with the dev extra
    result = run(exe)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_ruff_is_clean():
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
