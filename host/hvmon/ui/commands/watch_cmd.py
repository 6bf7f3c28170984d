"""`hvmon watch [CHANNEL]`: follow a board someone else owns, read-only, through its
owner (transport/watch.py): a guest's console by the VM's name, `log` (the stub's log)
or `events`; without CHANNEL every channel, each line prefixed with its name."""

from __future__ import annotations

import codecs
import sys

from ...errors import LinkError
from .core import TERMINAL_ESCAPES, command

FLUSH_S = 0.3           # a line without its newline (a shell prompt) shows after this pause


class Prefixed:
    """All channels on one screen: whole lines, each as `[name] text`; a channel's
    unfinished line is shown when another channel speaks or after a pause."""

    def __init__(self, out):
        self.out = out
        self.pending: dict[str, str] = {}
        self.decoders: dict[str, codecs.IncrementalDecoder] = {}

    def feed(self, name: str, data: bytes) -> None:
        decoder = self.decoders.setdefault(name, codecs.getincrementaldecoder("utf-8")("replace"))
        for other in [n for n in self.pending if n != name]:
            self._line(other, self.pending.pop(other))
        *lines, rest = (self.pending.pop(name, "") + decoder.decode(data)).split("\n")
        for line in lines:
            self._line(name, line)
        if rest:
            self.pending[name] = rest

    def flush(self) -> None:
        for name in list(self.pending):
            self._line(name, self.pending.pop(name))

    def _line(self, name: str, text: str) -> None:
        # Escapes dropped as in the REPL: a guest's terminal queries are not for this one.
        self.out.write(f"[{name}] {TERMINAL_ESCAPES.sub('', text)}\n")
        self.out.flush()


def _watch_args(p):
    p.add_argument("channel", nargs="?",
                   help="a VM's name (its console), 'log' or 'events' (default: all, prefixed)")


@command("watch", "follow a board another hvmon owns, read-only: a VM's console, log, events",
         _watch_args, repl=False,
         details="watch [CHANNEL]: while another hvmon (a REPL, a console, a test run's "
                 "one-shot command) holds the port, get a copy of what the stub sends through "
                 "it: CHANNEL is a VM's name, `log` or `events`; without it, every channel "
                 "with its name before each line. Nothing typed here reaches the board. "
                 "Ends when the owner leaves.")
def run_watch(ctx, args):
    from ...transport.port_lock import owner_note
    from ...transport.watch import connect, records
    url = ctx.url()
    note = owner_note(url)
    if not note or "watch" not in note:
        raise LinkError(f"watch: nobody publishes port {url} (no hvmon holds it"
                        + (", or its owner cannot be watched" if note else "")
                        + "): open it yourself, e.g. `hvmon -p PORT console VM`")
    owner = f"pid {note.get('pid')} ({note.get('who')})"
    what = f"channel {args.channel}" if args.channel else "every channel"
    conn = connect(note["watch"])
    ctx.notify(f"watching {what} of {url} through its owner, {owner}; read-only, Ctrl-C stops")
    out = sys.stdout.buffer
    prefixed = None if args.channel else Prefixed(sys.stdout)
    try:
        for item in records(conn, timeout=FLUSH_S):
            if item is None:
                if prefixed is not None:
                    prefixed.flush()
                continue
            name, data = item
            if prefixed is not None:
                prefixed.feed(name, data)
            elif name == args.channel or name == "lost":
                out.write(data)
                out.flush()
    except KeyboardInterrupt:
        ctx.notify("stopped watching")
        return 0
    if prefixed is not None:
        prefixed.flush()
    ctx.notify(f"the owner of {url}, {owner}, left: nothing more to watch")
    return 0
