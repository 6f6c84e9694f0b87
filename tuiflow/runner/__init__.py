"""The runner: one run, in its own process, from its record in the store to its outcome there.

Started as ``python -m tuiflow.runner RUN_ID --home DIR`` by an executor (tuiflow.scheduler.executor).
"""
