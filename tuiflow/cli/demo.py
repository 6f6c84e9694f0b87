"""``tuiflow demo``: a small pipeline and its profile table."""

from __future__ import annotations

import typer

from tuiflow.cli.app import app


@app.command()
def demo(
    items: int = typer.Option(20_000, min=1, help="Number of items in the demo dataset."),
    batch_size: int = typer.Option(64, min=1, help="Items per batch."),
    epochs: int = typer.Option(2, min=1, help="Number of passes over the data."),
    bar: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Run a small demo pipeline and print its per-action profile table."""
    from tuiflow.demo import run_demo

    run_demo(items=items, batch_size=batch_size, epochs=epochs, bar=bar)
