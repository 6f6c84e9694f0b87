"""The launch screen's GPU picker: each GPU with its free memory, load, the runs of ours on it ("#15
running") and, when other users' processes hold it, "busy: other users (58.6G)"; space or enter ticks
it. No GPU ticked means any free GPU."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuiflow.lab.gauges import mib, percent
from tuiflow.tui.render import busy_words, fit, short_gpu_name
from tuiflow.tui.views import GpuChoice
from tuiflow.tui.widgets.glyphs import glyphs_of


class GpuPicker(OptionList):
    """A list of GPUs with a [x] or [ ] each (the ticks are text: no colour needed)."""

    BINDINGS = [Binding("space", "toggle", "tick", show=False, id="launch.gpu_toggle",
                        tooltip="Tick or untick the highlighted GPU (none ticked: any free GPU)")]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.gpus: list[GpuChoice] = []
        self.ticked: set[int] = set()

    def show(self, gpus: Sequence[GpuChoice]) -> None:
        """List the GPUs, keeping the ticks of those still there."""
        highlighted = self.highlighted
        self.gpus = list(gpus)
        self.ticked &= {gpu.index for gpu in gpus}
        self.clear_options()
        self.add_options([Option(self._prompt(gpu), id=str(gpu.index)) for gpu in self.gpus])
        if self.gpus:
            self.highlighted = min(highlighted or 0, len(self.gpus) - 1)

    def _gpu_label(self, gpu: GpuChoice) -> str:
        return f"{gpu.index} {fit(short_gpu_name(gpu.name), 10, glyphs_of(self))}"

    def _prompt(self, gpu: GpuChoice) -> Text:
        text = Text.assemble(("[x] " if gpu.index in self.ticked else "[ ] ", "bold"))
        text.append(self._gpu_label(gpu).ljust(max(len(self._gpu_label(g)) for g in self.gpus) if self.gpus else 13))
        text.append(f" {mib(gpu.memory_free_mb):>6} free {percent(gpu.utilization)}")
        # Our runs are running there; "busy" is other users' processes, as the daemon judges them.
        if gpu.runs:
            text.append("  " + " ".join(f"#{r}" for r in gpu.runs) + " running", style="cyan")
        if gpu.busy:
            width = self.scrollable_content_region.width - 1  # an option's padding
            room = len(gpu.busy) if width <= 0 else width - text.cell_len - 2
            text.append("  " + busy_words(gpu.busy, gpu.busy_short, room), style="yellow")
        return text

    def on_resize(self) -> None:
        if self.gpus:  # the words for a busy GPU follow the width
            self.show(self.gpus)

    def action_toggle(self) -> None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self.gpus):
            return
        gpu = self.gpus[index]
        self.ticked ^= {gpu.index}
        self.replace_option_prompt_at_index(index, self._prompt(gpu))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_toggle()

    @property
    def chosen(self) -> tuple[int, ...] | None:
        """The ticked GPUs, or None for any."""
        return tuple(sorted(self.ticked)) or None

