"""The dashboard's log pane wraps a long line between words, not at an arbitrary letter."""

from __future__ import annotations

from tuiflow.tui.widgets.run_panel import wrap_log_line

RUNNER_LINE = ("tuiflow runner: run 1 of experiment 'sleep': recipe sleep (/work/main/recipes/sleep.py), "
               "pid 9193, CUDA_VISIBLE_DEVICES='0'")


def test_a_long_line_breaks_between_words_and_keeps_every_word():
    rows = wrap_log_line(RUNNER_LINE, 40)
    assert rows == ["tuiflow runner: run 1 of experiment", "'sleep': recipe sleep",
                    "(/work/main/recipes/sleep.py), pid 9193,", "CUDA_VISIBLE_DEVICES='0'"]
    assert " ".join(rows) == RUNNER_LINE


def test_a_word_longer_than_a_row_is_cut_and_short_lines_keep_their_indent():
    assert wrap_log_line("x" * 90, 40) == ["x" * 40, "x" * 40, "x" * 10]
    assert wrap_log_line('    File "train.py", line 3\tin step', 60) == ['    File "train.py", line 3 in step']
    assert wrap_log_line("", 40) == [""]


def test_wide_characters_are_cut_by_cells():
    assert wrap_log_line("損失" * 30, 40) == ["損失" * 10] * 3
