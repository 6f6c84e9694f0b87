"""A run that goes on while the test says so: it logs its first step, then waits while its gate file
exists, then logs the rest. Tests that need a run still going when they check hold it with a gate
they remove, instead of a run long enough on an idle machine."""

from __future__ import annotations

import os
import time

from tuiflow import Param, recipe


@recipe(name="gated", description="Log a step, wait while the gate file exists, log the rest",
        params={
            "gate": Param("", help="a file: the run waits after its first step while it exists"),
            "steps": Param(3, help="steps logged, the first before the wait"),
        })
def gated(run):
    config = run.config
    steps = max(1, config["steps"])
    run.log(step=1, value=0.0)
    while config["gate"] and os.path.exists(config["gate"]):
        time.sleep(0.02)
    for step in range(2, steps + 1):
        run.log(step=step, value=float(step - 1))
    return {"steps": steps}
