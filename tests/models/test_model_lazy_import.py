"""`import tuiflow.models` imports no framework, and a missing framework names its extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_import_loads_no_framework():
    result = run_python(
        "import sys\n"
        "import tuiflow.models\n"
        "from tuiflow.models import TorchModel, TFModel, ClassificationMetrics, resolve_model_class\n"
        "resolve_model_class('tf')\n"
        "names = ('torch', 'tensorflow', 'keras', 'timm', 'torchvision')\n"
        "print(sorted(name for name in names if name in sys.modules))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "model_class", "message"),
    [
        ("torch", "TorchModel", "TorchModel needs PyTorch: pip install 'tuiflow[torch]'"),
        ("tensorflow", "TFModel", "TFModel needs TensorFlow: pip install 'tuiflow[tf]'"),
    ],
)
def test_missing_framework_names_the_extra(module, model_class, message):
    # a None entry in sys.modules makes `import` fail as if the package were not installed
    result = run_python(
        f"import sys\nsys.modules[{module!r}] = None\n"
        f"from tuiflow.models import {model_class}\n"
        "try:\n"
        f"    {model_class}({{'inputs': 4, 'classes': 2}})\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == message
