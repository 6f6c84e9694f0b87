"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# The lab example launches real runs through a daemon: tests/test_readme_lab.py runs it in a home of its own.
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if not b.startswith("# lab example")]


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_python_example_runs(number, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[number].replace("bar=True", "bar=False")
    exec(compile(code, f"README.md example {number + 1}", "exec"), {"__name__": f"readme_{number}"})
