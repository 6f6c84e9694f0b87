"""Cloning a run: its recipe and exact parameters, edited, launched as an experiment that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiflow import lab


def test_a_clone_runs_the_same_parameters_with_edits_and_names_its_source(home: Path) -> None:
    with lab.open(home, create=True) as opened:
        first = opened.launch(opened.plan("sleep", {"seconds": 0.0, "steps": 3}, grid={"children": [0, 1]}),
                              start_daemon=False)  # fmt: skip
        source = opened.get_run(first.run_ids[1])
        assert source.config["children"] == 1

        plan = opened.clone_plan(source.id)
        assert plan.source_run == source.id and plan.recipe == "sleep" and len(plan) == 1
        assert plan.runs[0].config == source.config  # every parameter as the run had it

        edited = opened.clone_plan(source.id, {"steps": 5}, grid={"seconds": [0.0, 0.1]})
        assert len(edited) == 2
        assert [run.config["steps"] for run in edited.runs] == [5, 5]
        assert {run.config["children"] for run in edited.runs} == {1}

        launched = opened.launch(edited, start_daemon=False)
        experiment = opened.store.get_experiment(launched.experiment_id)
        assert experiment.source_run == source.id
        assert opened.store.get_experiment(first.experiment_id).source_run is None
        assert [opened.get_run(i).config["seconds"] for i in launched.run_ids] == [0.0, 0.1]


def test_a_clone_refuses_a_bad_edit_by_name_and_an_unknown_run(home: Path) -> None:
    with lab.open(home, create=True) as opened:
        run_id = opened.launch(opened.plan("sleep", {"seconds": 0.0}), start_daemon=False).run_ids[0]
        with pytest.raises(lab.ParamError) as caught:
            opened.clone_plan(run_id, {"steps": "many"})
        assert caught.value.param == "steps"
        with pytest.raises(lab.NotFoundError):
            opened.clone_plan(run_id + 100)
