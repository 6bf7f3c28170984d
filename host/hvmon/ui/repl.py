"""`hvmon repl` (and plain `hvmon` with a port): the commands of the CLI at a prompt.

prompt_toolkit gives completion (commands, hypercall names, VM names, file paths),
history kept in $XDG_CONFIG_HOME/hvmon/history, and patch_stdout, so guest console
lines and stub events printed by the session thread appear above the prompt instead of
through what is being typed. Ctrl-C cancels the running command (a transfer stops
issuing requests and waits for the answers already due, so the board stays usable);
Ctrl-D or `exit` leaves.
"""

from __future__ import annotations

import shlex
import sys
import threading

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.patch_stdout import patch_stdout

from .. import __version__
from .. import protocol as P
from ..errors import HvmonError, LinkError
from .commands import REGISTRY, Context, HelpShown, expand_aliases, lookup, split_chain
from .commands.reconnect import lost, recover
from .commands.vm_cmds import recall_vms
from .userconfig import history_path

PROMPT = "hvmon> "
LEAVE = ("exit", "quit")


class HvmonCompleter(Completer):
    """Completes the word under the cursor from what the command expects there."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.vm_names: list[str] = []
        self.paths = PathCompleter(expanduser=True)

    def kind_at(self, words: list[str], index: int) -> str | None:
        """What positional word `index` (0 = the command) of a segment is."""
        if index == 0:
            return "command"
        cmd = REGISTRY.get(words[0])
        if cmd is None:
            return None
        return cmd.slot_kind([w for w in words[1:index] if not w.startswith("-")])

    def get_completions(self, document: Document, complete_event):
        text = document.text_before_cursor
        segment = text.rsplit(" + ", 1)[-1] if " + " in text else text
        words = segment.split()
        if segment.endswith(" ") or not words:
            words.append("")
        current = words[-1]
        kind = self.kind_at(words, len(words) - 1)
        if kind == "file":
            sub = Document(current, len(current))
            yield from self.paths.get_completions(sub, complete_event)
            return
        if kind == "command":
            choices = sorted([n for n, c in REGISTRY.items() if c.repl] + list(LEAVE)
                             + list(self.ctx.user.aliases))
        elif kind == "hvc":
            choices = [h.name for h in P.HYPERCALLS]
        elif kind == "vm":
            choices = self.vm_names
        elif kind and kind.startswith("word:"):
            choices = kind[5:].split(",")
        else:
            choices = []
        for choice in choices:
            if choice.startswith(current):       # a space after a whole word, as readline does
                yield Completion(choice + " ", start_position=-len(current), display=choice)


def _refresh_vms(ctx: Context, completer: HvmonCompleter) -> None:
    """VM names for completion, read before each prompt (never from the completer's
    thread while a command may be using the board)."""
    from ..target.vms import vm_list
    if not ctx.has_board():
        return
    try:
        entries = vm_list(ctx.board())
    except HvmonError:
        return
    completer.vm_names = [e.name for e in entries]
    for e in entries:
        ctx.vm_names.setdefault(e.id, e.name)


def run_line(ctx: Context, line: str) -> int:
    """One line of the REPL: a chain of commands. Returns its exit code."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise HvmonError(f"cannot split the line: {exc}") from None
    chain = expand_aliases(split_chain(words), ctx.user.aliases)
    parsed = []
    for segment in chain:
        cmd = lookup(segment[0], interactive=True)
        parsed.append((cmd, cmd.parse(segment[1:])))
    for cmd, args in parsed:
        code = cmd.run(ctx, args) or 0
        if code:
            return code
    return 0


class LinkDropped(Exception):
    """Ends a prompt when the line broke or the board reset while it waited for typing;
    `text` is what had been typed, given back at the next prompt."""

    def __init__(self, text: str):
        super().__init__("link dropped")
        self.text = text


class LinkWatch:
    """While the prompt waits, a thread looks at the session every WATCH_S seconds and
    ends the prompt when the line or the board is lost: an idle REPL says so at once and
    reconnects, instead of at the next command."""

    WATCH_S = 0.25

    def __init__(self, ctx: Context, session: PromptSession):
        self.ctx, self.session = ctx, session
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="hvmon-linkwatch", daemon=True)

    def __enter__(self) -> "LinkWatch":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.done.wait(self.WATCH_S):
            app = self.session.app
            if lost(self.ctx) is not None and app.is_running and app.loop is not None:
                def drop() -> None:
                    if app.is_running and not app.future.done():
                        app.exit(exception=LinkDropped(self.session.default_buffer.text))
                app.loop.call_soon_threadsafe(drop)
                return


def carry_on(ctx: Context, error: HvmonError) -> None:
    """The line broke or the board reset: say so, wait for it, reconnect (commands/reconnect.py)."""
    try:
        if recover(ctx, error):
            recall_vms(ctx)
    except HvmonError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        ctx.close()
    except KeyboardInterrupt:
        print("stopped waiting for the board; the next command opens the line again",
              file=sys.stderr, flush=True)
        ctx.close()


def run_repl(ctx: Context) -> int:
    ctx.interactive = True
    board = ctx.board()                 # a REPL without a board is no use: fail at once
    info = board.info()
    ctx.echo_consoles = True
    recall_vms(ctx)
    history = history_path()
    history.parent.mkdir(parents=True, exist_ok=True)
    completer = HvmonCompleter(ctx)
    session = PromptSession(history=FileHistory(str(history)), completer=completer,
                            complete_while_typing=False)
    print(f"hvmon {__version__}: stub {info.version} on {info.board} at {ctx.url()}; "
          "`help` lists commands, Ctrl-C cancels one, Ctrl-D leaves", flush=True)
    typed = ""
    while True:
        error = lost(ctx)
        if error is not None:
            carry_on(ctx, error)
        _refresh_vms(ctx, completer)
        try:
            with patch_stdout(raw=True), LinkWatch(ctx, session):
                line = session.prompt(PROMPT, default=typed)
            typed = ""
        except LinkDropped as drop:
            typed = drop.text
            continue
        except KeyboardInterrupt:
            typed = ""
            continue                    # Ctrl-C at the prompt clears the line
        except EOFError:
            break
        if not line.strip():
            continue
        if line.strip() in LEAVE:
            break
        try:
            code = run_line(ctx, line)
            if code:
                print(f"(exit code {code})", file=sys.stderr, flush=True)
        except HelpShown:
            pass
        except KeyboardInterrupt:
            clean = ctx.drain()
            print("cancelled" + ("" if clean else ": the board did not answer every request; "
                                 "the next command reconnects"), file=sys.stderr, flush=True)
            if not clean:
                ctx.close()
        except LinkError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            if lost(ctx) is None:
                ctx.close()             # the next command opens the line again
        except HvmonError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
    ctx.echo_consoles = False
    return 0
