"""Progress bars for transfers: prompt_toolkit's on a terminal, nothing otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yields a callback(done, total) for Board.write/read."""
    if enabled is None:
        enabled = sys.stderr.isatty() and sys.stdout.isatty()
    if not enabled:
        yield lambda done, total: None
        return
    from prompt_toolkit.shortcuts import ProgressBar
    from prompt_toolkit.shortcuts.progress_bar import formatters

    shown = [formatters.Label(), formatters.Text(" "), formatters.Percentage(),
             formatters.Text(" "), formatters.Bar(), formatters.Text(" "),
             formatters.Progress(), formatters.Text(" "), formatters.TimeLeft()]
    with ProgressBar(formatters=shown) as bar:
        counter = None

        def update(done: int, total: int) -> None:
            nonlocal counter
            if counter is None:
                counter = bar(label=label, total=max(total, 1))
            counter.items_completed = done
            counter.progress_bar.invalidate()

        yield update
