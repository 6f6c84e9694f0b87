"""`tuiflow logs RUN_ID [-f] [--tail N]`: a run's output, read back whatever its bytes, followed to the end."""

from __future__ import annotations

import selectors
import subprocess
import time
from pathlib import Path

from results_data import LOG_BYTES, popen, tuiflow

from tuiflow.lab import results as lab
from tuiflow.store import RunSpec, Store

LOG_TEXT = LOG_BYTES.decode("utf-8", errors="replace")


def read_until(proc: subprocess.Popen[str], expected: str, timeout: float = 15) -> str:
    """What a process prints on stdout until `expected` shows up; fail after `timeout` seconds."""
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while expected not in seen:
            assert time.monotonic() < deadline, f"no {expected!r} within {timeout}s, got {seen!r}"
            if selector.select(timeout=0.1):
                line = proc.stdout.readline()
                assert line, f"stdout closed before {expected!r}: {seen!r}, stderr: {proc.stderr.read()}"
                seen += line
    return seen


def test_prints_the_log_with_invalid_utf8_replaced(populated):
    out = tuiflow("logs", str(populated.runs["best"]), "--home", str(populated.home))
    assert out.returncode == 0, out.stderr
    assert out.stdout == LOG_TEXT and "\ufffd" in out.stdout and "café done" in out.stdout
    tail = tuiflow("logs", str(populated.runs["best"]), "--tail", "2", "--home", str(populated.home))
    assert tail.stdout == "epoch 2: loss=0.3\ncafé done\n"


def test_a_run_without_a_log_yet_says_so(populated):
    for name, status in (("queued", "queued"), ("running", "running")):
        out = tuiflow("logs", str(populated.runs[name]), "--home", str(populated.home))
        assert out.returncode == 0 and out.stdout == ""
        assert out.stderr == f"tuiflow: run {populated.runs[name]} is {status}: it has no log yet\n"


def test_lab_reads_tails_of_any_length(tmp_path):
    path = tmp_path / "big.log"
    lines = [f"line {i} " + "x" * (i % 97) + "\n" for i in range(5000)]
    path.write_text("".join(lines) + "no newline at the end")
    assert lab.read_log(path, tail=3) == "".join(lines[-2:]) + "no newline at the end"
    assert lab.read_log(path, tail=0) == ""
    assert lab.read_log(path, tail=10**6) == path.read_text()


def test_lab_follow_reads_what_is_appended_until_the_run_ends(tmp_path):
    with Store.open(tmp_path / "home") as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec()])
        run_id = store.list_runs(experiment.id)[0].id
        log = tmp_path / "run.log"
        # Each poll appends the next piece; a two-byte character is split between two polls.
        pieces = [None, b"one\n", b"caf\xc3", b"\xa9\n\xff\n", "finish"]

        def step(_seconds: float) -> None:
            piece = pieces.pop(0)
            if piece is None:
                store.start_run(run_id, pid=1, log_path=log)
                log.write_bytes(b"zero\n")
            elif piece == "finish":
                with open(log, "ab") as file:
                    file.write(b"last words\n")
                store.finish_run(run_id, "done")
            else:
                with open(log, "ab") as file:
                    file.write(piece)

        text = "".join(lab.follow_log(store, run_id, poll_s=0, sleep=step))
        assert text == "zero\none\ncafé\n\ufffd\nlast words\n" and not pieces


def test_follow_prints_new_output_until_the_run_finishes(tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "run.log"
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec()])
        run_id = store.list_runs(experiment.id)[0].id
        store.start_run(run_id, pid=1, log_path=log)
        log.write_bytes(b"old line\nstarting\n")
        proc = popen("logs", str(run_id), "-f", "--tail", "1", "--home", str(home))
        try:
            assert read_until(proc, "starting\n") == "starting\n"  # --tail 1: the old line is skipped
            with open(log, "ab") as file:
                file.write(b"step 1 \xff\n")
                file.flush()
                assert read_until(proc, "step 1") == "step 1 \ufffd\n"
                file.write(b"step 2\n")
            store.finish_run(run_id, "failed", exit_code=1)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "step 2\n" and err == ""


def test_follow_waits_for_a_queued_run_to_start(tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "later.log"
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec()])
        run_id = store.list_runs(experiment.id)[0].id
        proc = popen("logs", str(run_id), "--follow", "--home", str(home))
        try:
            time.sleep(1.0)  # the follower is polling a run without a log
            store.start_run(run_id, pid=1, log_path=log)
            log.write_text("hello\n")
            assert read_until(proc, "hello") == "hello\n"
            store.finish_run(run_id, "done")
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
    assert proc.returncode == 0 and out == ""
    assert err == f"tuiflow: run {run_id} is queued and has no log yet: waiting for it (Ctrl-C stops)\n"


def test_follow_of_a_finished_run_prints_its_log_and_exits(populated):
    out = tuiflow("logs", "-f", str(populated.runs["best"]), "--home", str(populated.home))
    assert out.returncode == 0 and out.stdout == LOG_TEXT
    none = tuiflow("logs", "-f", str(populated.runs["lost"]), "--home", str(populated.home))
    assert none.returncode == 0 and none.stdout == ""
    assert none.stderr == f"tuiflow: run {populated.runs['lost']} is lost: it has no log\n"


def test_a_log_that_is_gone_is_an_error(tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec()])
        run_id = store.list_runs(experiment.id)[0].id
        store.start_run(run_id, pid=1, log_path=Path(tmp_path / "deleted.log"))
        store.finish_run(run_id, "done")
    out = tuiflow("logs", str(run_id), "--home", str(home))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"tuiflow: error: the log of run {run_id}, {tmp_path / 'deleted.log'}, is gone\n"
