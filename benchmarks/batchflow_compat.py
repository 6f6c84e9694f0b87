"""BatchFlow's own tests, run against tuiflow under the name ``batchflow`` (issue 14).

BatchFlow's test files are not part of tuiflow (their license is BatchFlow's): get a copy first,

    git clone https://github.com/analysiscenter/batchflow /tmp/batchflow
    python benchmarks/batchflow_compat.py --tests /tmp/batchflow/batchflow/tests [--all | FILE ...]

(or set TUIFLOW_BATCHFLOW_TESTS to that folder). The script copies the folder into a temporary
directory, writes there a package ``batchflow`` that re-exports tuiflow (``batchflow.named_expr``
and the other submodules those tests import map onto tuiflow's), runs pytest on the files with
that package first on the path, and prints one JSON line: passed / failed / errors per file and
in all, and the ids of the tests that did not pass. The named-expression tests import pandas.

Files: the first measure (indices, datasets, named expressions) by default; ``--all`` adds the
second (config, components, rebatch, save_to, apply_parallel); or name files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ENV_VAR = "TUIFLOW_BATCHFLOW_TESTS"
PRIMARY = ("datasetindex_test.py", "filesindex_test.py", "common_index_test.py", "dataset_test.py",
           "named_expr_test.py")
SECONDARY = ("config_test.py", "config_basic_test.py", "components_test.py", "rebatch_test.py",
             "save_to_test.py", "apply_parallel_test.py")
WHERE = (f"get BatchFlow's tests with `git clone https://github.com/analysiscenter/batchflow /tmp/batchflow` "
         f"and pass `--tests /tmp/batchflow/batchflow/tests` (or set {ENV_VAR})")

# batchflow.<name> -> the tuiflow module that stands for it
SUBMODULES = {
    "batch": "tuiflow.flow.batch",
    "batch_image": "tuiflow.flow.images",
    "components": "tuiflow.flow.components",
    "config": "tuiflow.flow.config",
    "dataset": "tuiflow.flow.dataset",
    "decorators": "tuiflow.flow.parallel",
    "dsindex": "tuiflow.flow.index",
    "named_expr": "tuiflow.flow.named_expr",
    "pipeline": "tuiflow.flow.pipeline",
    "utils": "tuiflow.flow.components",  # the one helper those tests take from it: is_iterable
}

SHIM_INIT = '''"""batchflow: a stand-in that re-exports tuiflow (written by benchmarks/batchflow_compat.py)."""
import tuiflow as _tuiflow
from tuiflow import *  # noqa: F403
from tuiflow import __all__, __version__  # noqa: F401


def __getattr__(name):
    return getattr(_tuiflow, name)
'''

SHIM_SUBMODULE = '''"""batchflow.{name}: {target}, under BatchFlow's name."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module({target!r})
'''


def write_shim(root: Path) -> None:
    """The ``batchflow`` package under ``root``: tuiflow's names, and a module per submodule name."""
    package = root / "batchflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(SHIM_INIT)
    for name, target in SUBMODULES.items():
        (package / f"{name}.py").write_text(SHIM_SUBMODULE.format(name=name, target=target))


def count(report: Path, files: list[str]) -> dict[str, Any]:
    """Passed / failed / errors / skipped per file, from pytest's JUnit XML. A file that cannot be
    imported counts as one error (its tests were never collected: ``collection_error`` says so)."""
    per_file: dict[str, dict[str, Any]] = {
        name: {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "collection_error": None, "not_passed": []}
        for name in files}
    for case in ET.parse(report).getroot().iter("testcase"):
        classname = case.get("classname", "")
        module = os.path.basename(case.get("file") or "") or f"{classname.split('.')[0]}.py"
        if module not in per_file:
            continue
        tally = per_file[module]
        if not classname:  # the file itself failed to import
            error = case.find("error")
            message = (error.get("message") or error.text or "") if error is not None else ""
            tally["collection_error"] = message.strip().splitlines()[-1][:300] if message.strip() else "?"
            tally["errors"] += 1
            continue
        outcome = "passed"
        for child in case:
            if child.tag == "failure":
                outcome = "failed"
            elif child.tag == "error":
                outcome = "errors"
            elif child.tag == "skipped":
                outcome = "skipped"
        tally[outcome] += 1
        if outcome != "passed":
            tally["not_passed"].append(f"{classname.split('.', 1)[-1]}::{case.get('name')}"
                                       if "." in classname else case.get("name"))
    for tally in per_file.values():
        tally["total"] = tally["passed"] + tally["failed"] + tally["errors"] + tally["skipped"]
    return per_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="test files of the folder to run (default: the first measure)")
    parser.add_argument("--tests", default=os.environ.get(ENV_VAR), help=f"BatchFlow's tests folder (or ${ENV_VAR})")
    parser.add_argument("--all", action="store_true", help="both measures: indices, datasets, named expressions, "
                        "config, components, rebatch, save_to, apply_parallel")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole pytest run")
    parser.add_argument("--verbose", action="store_true", help="pass pytest's output through to stderr")
    args = parser.parse_args()

    if not args.tests:
        print(f"batchflow_compat: no tests folder: {WHERE}", file=sys.stderr)
        return 2
    source = Path(args.tests).expanduser()
    files = list(args.files) or list(PRIMARY + SECONDARY if args.all else PRIMARY)
    missing = [name for name in files if not (source / name).is_file()]
    if missing:
        print(f"batchflow_compat: {source} has no {missing[0]}: {WHERE}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="tuiflow-bfcompat-") as tmp:
        root = Path(tmp)
        tests = root / "tests"
        shutil.copytree(source, tests, ignore=shutil.ignore_patterns("__pycache__", "notebooks", "plot_notebooks"))
        write_shim(root / "shim")
        report = root / "report.xml"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "shim"), os.environ.get("PYTHONPATH", "")]),
               "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(tests / "pytest.ini"),
               "--rootdir", str(tests), "--continue-on-collection-errors", f"--junitxml={report}",
               "-o", "junit_family=xunit1", *files]
        try:
            proc = subprocess.run(cmd, cwd=tests, env=env, timeout=args.timeout, text=True,
                                  stdout=None if args.verbose else subprocess.PIPE,
                                  stderr=subprocess.STDOUT if not args.verbose else None)
        except subprocess.TimeoutExpired:
            print(f"batchflow_compat: pytest ran past {args.timeout:.0f} s", file=sys.stderr)
            return 1
        error = None
        if report.exists():
            per_file = count(report, files)
        else:  # nothing ran (a conftest that cannot import, say): every file counts 0 passed
            tail = (proc.stdout or "").strip().splitlines()[-3:]
            error = f"pytest ran no test (exit {proc.returncode}): {' | '.join(tail)}"
            print(f"batchflow_compat: {error}", file=sys.stderr)
            per_file = {name: {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "total": 0,
                               "collection_error": error, "not_passed": []} for name in files}

    total = {key: sum(tally[key] for tally in per_file.values())
             for key in ("passed", "failed", "errors", "skipped", "total")}
    print(json.dumps({"tests": str(source), "files": per_file, "all": total, "error": error}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
