"""What the board's owner publishes for `hvmon watch` (transport/watch.py), by channel
name: a guest's console under its VM's name, the stub's log as `log`, its events as
`events` (one described line each, as the CLI prints them). The CLI's Context and the
pytest plugin's BoardTarget both feed their watch server through this."""

from __future__ import annotations

from collections.abc import Callable

from .. import protocol as P
from .events import describe_event
from .symbols import Symbolizer


def watch_recorder(watch, names: Callable[[], dict[int, str]],
                   symbols: Callable[[], Symbolizer]) -> Callable[[int, bytes], None]:
    """A Board recorder (runs on the session's pump: publish never blocks) that hands
    each stream frame to `watch`; `names()` and `symbols()` are asked when a frame
    comes, so a VM named later is published under its name from then on."""

    def record(channel: int, data: bytes) -> None:
        if not watch.watchers:
            return
        if channel == P.Channel.LOG:
            watch.publish("log", data)
        elif channel == P.Channel.EVENT:
            text = describe_event(data[0] if data else 0, data, symbols(), names())
            if text:
                watch.publish("events", (text + "\n").encode())
        elif channel >= P.Channel.CONSOLE_BASE:
            vm = channel - P.Channel.CONSOLE_BASE
            watch.publish(names().get(vm, f"vm{vm}"), data)
    return record
