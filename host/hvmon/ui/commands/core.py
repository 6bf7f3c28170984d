"""The command layer the CLI and the REPL share: a registry of commands (name, argument
parser, help, what their arguments complete to, run(ctx, args)) and the Context that
holds the one connection a chain of commands or a REPL session uses."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...bringup.board_profile import BoardProfile, load_profile
from ...errors import ConfigError, HvmonError
from ...target.symbols import Symbolizer
from ..userconfig import UserConfig, load_user_config

DEFAULT_BOARD = "qemu-virt"
# CSI and other ESC sequences, and control characters other than tab.
TERMINAL_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])|[\x00-\x08\x0b-\x1f\x7f]")
CHAIN = "+"                     # `hvmon load Image 0x40400000 + vm start linux`


class HelpShown(Exception):
    """A parser printed help (-h) or the version: stop this command, successfully."""


class ArgParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one ConfigError line (exit code 2)
    instead of printing usage and leaving the process: the REPL must survive it."""

    def error(self, message: str):
        raise ConfigError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            print(message, file=sys.stderr, end="")
        raise HelpShown(status)


@dataclass
class Command:
    name: str
    help: str
    run: Callable
    arguments: Callable[[ArgParser], None] | None = None
    complete: tuple[str, ...] = ()     # per positional: "hvc", "vm", "file", or "word:a,b,c"
    repl: bool = True                  # offered inside the REPL
    details: str = ""

    def parser(self) -> ArgParser:
        parser = ArgParser(prog=self.name, description=self.details or self.help, add_help=True)
        if self.arguments:
            self.arguments(parser)
        return parser

    def parse(self, argv: list[str]) -> argparse.Namespace:
        return self.parser().parse_args(argv)

    def slot_kind(self, positional: list[str]) -> str | None:
        """What the next positional word completes to, given those before it: the one
        rule the REPL's completer and the shell completion scripts both follow."""
        slot = len(positional)
        if self.name == "vm" and slot == 1:
            return "file" if positional[0] == "create" else "vm"
        if slot < len(self.complete):
            return self.complete[slot]
        return "file" if self.name == "run" else None

    def options(self) -> list[str]:
        """Its option strings (-o, --output, ...), for completion."""
        return sorted(o for a in self.parser()._actions for o in a.option_strings)


REGISTRY: dict[str, Command] = {}


def command(name: str, help: str, arguments=None, complete=(), repl=True, details=""):
    def register(run):
        REGISTRY[name] = Command(name, help, run, arguments, tuple(complete), repl, details)
        return run
    return register


def lookup(name: str, interactive: bool = False) -> Command:
    cmd = REGISTRY.get(name)
    if cmd is not None and interactive and not cmd.repl:
        raise ConfigError(f"{name}: not available inside the REPL (run `hvmon {name}` from a shell)")
    if cmd is None:
        known = ", ".join(sorted(n for n, c in REGISTRY.items() if c.repl or not interactive))
        raise ConfigError(f"unknown command {name!r} (commands: {known})")
    return cmd


def split_chain(argv: list[str]) -> list[list[str]]:
    """`a x + b y` -> [[a, x], [b, y]]; an empty segment (`a + + b`, a trailing `+`) is
    a mistake, not something to skip silently."""
    chain, current = [], []
    for word in argv:
        if word == CHAIN:
            if not current:
                raise ConfigError("empty command in the chain: '+' needs a command on each side")
            chain.append(current)
            current = []
        else:
            current.append(word)
    if current:
        chain.append(current)
    elif argv:
        raise ConfigError("empty command in the chain: '+' needs a command on each side")
    return chain


def expand_aliases(chain: list[list[str]], aliases: dict[str, list[str]]) -> list[list[str]]:
    """A segment whose first word is an alias becomes the alias's own chain; extra words
    are appended to its last command. Aliases do not expand inside aliases (no loops)."""
    out = []
    for segment in chain:
        if segment and segment[0] in aliases and segment[0] not in REGISTRY:
            expanded = split_chain(aliases[segment[0]])
            if expanded:
                expanded[-1] = expanded[-1] + segment[1:]
            out += expanded
        else:
            out.append(segment)
    return out


def number(text: str, what: str) -> int:
    """0x.., 0o.., 0b.. or decimal, with an optional K/M/G suffix for sizes."""
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1) if text else 1
    body = text[:-1] if scale != 1 else text
    try:
        return int(body, 0) * scale
    except ValueError:
        raise ConfigError(f"bad number {text!r} for {what}") from None


def labgrid_place_url(port: str) -> str:
    """-p labgrid:PLACE: the serial line of a place acquired through labgrid (optional)."""
    try:
        from ...labgrid.place import place_url
    except ImportError as exc:
        raise ConfigError(f"-p {port}: {exc}") from None
    return place_url(port)


@dataclass
class GlobalOptions:
    port: str | None = None
    board: str | None = None
    baud: int | None = None
    log: str | None = None
    json: bool = False
    quiet: bool = False
    log_dir: str | None = None
    timestamps: bool = False
    wait: float | None = 0.0        # for a port someone holds: 0 fail at once, None forever
    reup: bool = False              # after a board reset: bring the stub up, re-apply the plan


class Context:
    """What every command runs against: options, the user's config, one serial
    connection (opened on first use, shared by the whole chain or REPL session), and
    how results, events and progress are shown."""

    def __init__(self, options: GlobalOptions, user: UserConfig | None = None,
                 interactive: bool = False, prompt: Callable[[Context], int] | None = None):
        self.options = options
        # The interactive prompt (the REPL) is a front end built on these commands, so the
        # `repl` command cannot import it; the front end that makes the Context passes it.
        self.prompt = prompt
        self.user = user or load_user_config()
        self.interactive = interactive
        self.json = options.json
        self.quiet = options.quiet
        self._profile: BoardProfile | None = None
        self._port = None                # the open serial port (pyserial)
        self._lock = None                # the PortLock on it: one owner per board
        self._board = None               # a framed hvmon.board.Board on that port
        self._log = None
        self._channel_logs = None        # --log-dir: ChannelLogs of this run, made on first use
        self.log_dir = Path(options.log_dir) if options.log_dir else self.user.log_dir
        self.timestamps = options.timestamps or self.user.timestamps
        from ...transport.textlog import Clock
        self.clock = Clock()             # one clock for the logs and the screen's stamps
        self._url: str | None = None
        self._boot_id: int | None = None
        self.raw_terminal = False        # a console is attached: lines need \r\n
        self.echo_consoles = False       # REPL: guest output shows above the prompt
        self._console_lines: dict[int, bytearray] = {}
        self._console_timers: dict[int, threading.Timer] = {}
        self._console_lock = threading.Lock()
        self.vm_names: dict[int, str] = {}
        self.symbols = Symbolizer()
        self._symbols_loaded = False
        self._named = self.named_board()
        self._submitting = 0             # inside Session.submit/send_stream: see on_interrupt
        self._held_interrupt = False

    # --- where the board is ------------------------------------------------------------

    def named_board(self):
        """-p NAME of a [boards.NAME] in the user config, or its `default` without -p."""
        port = self.options.port
        if port is None:
            return self.user.default_board()
        return self.user.boards.get(port)

    def run_prompt(self) -> int:
        """Hand this Context to the interactive prompt its front end offers."""
        if self.prompt is None:
            raise ConfigError("repl: this front end has no interactive prompt")
        return self.prompt(self)

    def port_known(self) -> bool:
        return bool(self.options.port or self._named)

    def url(self) -> str:
        if self._url:
            return self._url
        port = self._named.port if self._named else self.options.port
        if not port:
            raise ConfigError("no port: give -p PORT (a pyserial URL, 'auto' or a board named in "
                              f"{self.user.path}) or set HVMON_PORT")
        if port == "auto":
            from ...transport.serial_ports import auto_port
            port = auto_port()
        elif port.startswith("id:"):
            from ...transport.serial_ports import resolve_serial_number
            port = resolve_serial_number(port)
        elif port.startswith("labgrid:"):
            port = labgrid_place_url(port)
        self._url = port
        return port

    def port_spec(self) -> str | None:
        """The port as the user named it (`id:SERIAL` stays itself; `auto` becomes the
        serial number of the adapter it picked): what a reconnect looks for, where url()
        is the device it resolved to last."""
        spec = self._named.port if self._named else self.options.port
        if spec == "auto":
            from ...transport.serial_ports import stable_name
            return stable_name(self.url())
        return spec

    def set_url(self, url: str) -> None:
        """Point the context at another line (a QEMU board it started itself)."""
        self.close()
        self._url = url

    def profile(self) -> BoardProfile:
        if self._profile is None:
            name = self.options.board or (self._named.board if self._named else None) or DEFAULT_BOARD
            self._profile = load_profile(name)
        return self._profile

    def baud(self) -> int:
        return self.options.baud or (self._named.baud if self._named else None) or self.profile().uboot.baud

    # --- the connection ----------------------------------------------------------------

    def lock_port(self, url: str) -> None:
        """Take the board's lock (transport/port_lock.py) before its line is opened."""
        if self._lock is not None and self._lock.port == url:
            return
        from ...transport.port_lock import PortLock
        self.release_lock()
        if self.options.wait is None or self.options.wait > 0:
            self.say(f"waiting for the port {url} to be free")
        self._lock = PortLock(url, wait=self.options.wait,
                              hint="--wait waits for it to leave", publish=True)

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def port(self):
        if self._port is None:
            from ...transport.link import open_link
            self.lock_port(self.url())
            self._port = open_link(self.url(), self.baud())
        return self._port

    def log_file(self):
        if self.options.log and self._log is None:
            self._log = open(self.options.log, "ab")
        return self._log

    def channel_logs(self):
        """The ChannelLogs of this run under --log-dir (a folder named by the time the
        run began), or None without --log-dir."""
        if self.log_dir is None:
            return None
        if self._channel_logs is None:
            from ...target.channel_logs import ChannelLogs
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock.wall))
            folder = self.log_dir / f"{stamp}-{os.getpid()}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"--log-dir {self.log_dir}: {exc.strerror}") from None
            self._channel_logs = ChannelLogs(folder, self.clock, self.symbols)
            self._channel_logs.names = self.vm_names      # the same dict: names as they come
            self.say(f"logs in {folder}")
        return self._channel_logs

    def serial_log(self):
        """Where the line's text goes: --log (raw bytes) and serial.log under --log-dir."""
        from ...transport.textlog import tee
        logs = self.channel_logs()
        return tee(self.log_file(), logs.serial if logs else None)

    def screen_stamper(self):
        """--timestamps: a LineStamper for a raw terminal (term, console), else None."""
        if not self.timestamps:
            return None
        from ...transport.textlog import LineStamper
        return LineStamper(self.clock, short=True, keep_cr=True)

    def link(self):
        """The line as text (U-Boot, the text monitor): the framed session, if any, ends."""
        from ...transport.expect import Expect
        self.release_board()
        port = self.port()
        port.timeout = 0.05
        if self.channel_logs():
            self._channel_logs.note(f"text mode on {self.url()}")
        return Expect(port, self.serial_log())

    def board(self):
        """The framed Board, started on first use."""
        if self._board is None:
            from ...target.board import Board
            self.adopt(self.port(), Board.attach(self.port(), trace=self.log_file()))
        return self._board

    # --- Ctrl-C -------------------------------------------------------------------------

    def on_interrupt(self, signum=None, frame=None) -> None:
        """SIGINT (and SIGTERM/SIGHUP) handler. Ctrl-C must not land inside
        Session.submit, between a frame going out and the future for its answer being
        queued: every later answer would then go to the wrong request. There it is held
        and raised the moment submit returns; anywhere else at once."""
        if self._submitting:
            self._held_interrupt = True
            return
        raise KeyboardInterrupt

    def _guard(self, session) -> None:
        """Wrap this session's submit and send_stream so on_interrupt knows when a request
        is half-queued (the Session itself is shared code that knows nothing of signals)."""
        for name in ("submit", "send_stream"):
            original = getattr(session, name)

            def guarded(*args, _original=original, **kwargs):
                self._submitting += 1
                try:
                    return _original(*args, **kwargs)
                finally:
                    self._submitting -= 1
                    if not self._submitting and self._held_interrupt:
                        self._held_interrupt = False
                        raise KeyboardInterrupt
            setattr(session, name, guarded)

    def has_board(self) -> bool:
        return self._board is not None

    @property
    def boot_id(self) -> int | None:
        """The boot id of the stub this context last spoke to (a new one: it restarted)."""
        return self._boot_id

    def prefer_board(self, name: str) -> None:
        """The board profile to use when neither -b nor the user config chose one."""
        if self.options.board is None and self._profile is None and not (self._named and self._named.board):
            self.options.board = name

    def adopt(self, port, board=None, url: str | None = None) -> None:
        """Take over a port (and Board) opened elsewhere, e.g. by a plan's reach step."""
        self._url = url or self._url
        self._port = port
        self._board = board
        if board is not None:
            self._boot_id = board.info().boot_id
            self._guard(board.session)
            board.on_event = self.on_event
            board.on_console = self.on_console
            self.load_stub_symbols()
            logs = self.channel_logs()
            if logs is not None:
                logs.symbols = self.symbols
                logs.note(f"framed mode on {self._url}")
                board.recorders.append(logs.record)
            if self._lock is not None and self._lock.watch is not None:
                from ...target.watch_feed import watch_recorder
                board.recorders.append(watch_recorder(self._lock.watch, lambda: self.vm_names,
                                                      lambda: self.symbols))

    def release_board(self) -> None:
        if self._board is not None:
            self.drain()
            self._board.session.close()
            self._board = None

    def drain(self, timeout: float = 30.0) -> bool:
        """After a cancelled command: no new requests are issued; wait until every
        request already sent has its answer, so the next command starts clean."""
        if self._board is None:
            return True
        deadline = time.monotonic() + timeout
        while self._board.session.pending() and time.monotonic() < deadline:
            if self._board.session.failure:
                return False
            time.sleep(0.02)
        return not self._board.session.pending()

    def close(self, exiting: bool = False, keep_lock: bool = False) -> None:
        """Release the line; `exiting`: the process ends next (see link.close_link);
        `keep_lock`: the board stays ours (a reconnect opens the line again)."""
        if self._board is not None:
            self._board.session.close()
            self._board = None
        if self._port is not None:
            from ...transport.link import close_link
            close_link(self._port, exiting)
            self._port = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._channel_logs is not None:
            self._channel_logs.close()       # reopened (appending) if the run goes on
        if not keep_lock:
            self.release_lock()

    # --- output --------------------------------------------------------------------------

    def emit(self, data, text: str | None) -> None:
        """A command's result: JSON for scripts (--json), else text for people."""
        if self.json:
            print(json.dumps(data), flush=True)
        elif text:
            print(text, flush=True)

    def say(self, text: str) -> None:
        """Progress notes on stderr (not results); -q silences them."""
        if not self.quiet:
            self.notify(text)

    def notify(self, text: str) -> None:
        if self.raw_terminal:
            sys.stderr.write(f"\r\nhvmon: {text}\r\n")
        else:
            print(f"hvmon: {text}", file=sys.stderr)
        sys.stderr.flush()

    def progress(self, label: str):
        from ..progress import progress_bar
        return progress_bar(label, enabled=False if (self.quiet or self.json) else None)

    # --- what the stub sends on its own ----------------------------------------------------

    def load_stub_symbols(self) -> None:
        """Name the stub's ELF for fault reports; Symbolizer reads it on first use."""
        if self._symbols_loaded:
            return
        self._symbols_loaded = True
        try:
            guests = self.symbols.guests
            self.symbols = Symbolizer(self.profile().image("elf"))
            self.symbols.guests = guests
        except HvmonError:
            pass                     # no ELF for this board: addresses stay bare

    def note_vm(self, vm: int, name: str, kernel: Path | None = None) -> None:
        """A VM this host created: its name for console lines, its symbols for faults."""
        self.vm_names[vm] = name
        if kernel is not None:
            try:
                self.symbols.add_guest(vm, kernel)
            except HvmonError:
                self.symbols.forget_guest(vm)

    def on_event(self, event: int, payload: bytes) -> None:
        from ...target.events import describe_event
        text = describe_event(event, payload, self.symbols, self.vm_names)
        if text:
            self.notify(text)

    def on_console(self, vm: int, data: bytes) -> None:
        """Guest output while no console is attached: whole lines, named, above the
        prompt (patch_stdout keeps them from garbling what is being typed)."""
        if not self.echo_consoles:
            return
        with self._console_lock:
            timer = self._console_timers.pop(vm, None)
            if timer:
                timer.cancel()
            pending = self._console_lines.setdefault(vm, bytearray())
            pending.extend(data)
            *lines, rest = bytes(pending).split(b"\n")
            pending[:] = rest
            for line in lines:
                self._console_line(vm, line)
            if rest:
                # A line without its newline yet (a shell prompt): shown once the guest
                # has been quiet for a moment, so it does not wait for the next line.
                timer = threading.Timer(0.3, self._flush_console, (vm,))
                timer.daemon = True
                self._console_timers[vm] = timer
                timer.start()

    def _console_line(self, vm: int, line: bytes) -> None:
        # Terminal escapes from the guest are dropped here: a shell's cursor-position
        # query would make the terminal type its answer into the hvmon> prompt.
        text = TERMINAL_ESCAPES.sub("", line.decode(errors="replace"))
        stamp = self.clock.stamp(short=True) if self.timestamps else ""
        print(f"{stamp}[{self.vm_names.get(vm, f'vm{vm}')}] {text}", flush=True)

    def _flush_console(self, vm: int) -> None:
        with self._console_lock:
            self._console_timers.pop(vm, None)
            pending = self._console_lines.get(vm)
            if pending and self.echo_consoles:
                self._console_line(vm, bytes(pending))
                pending.clear()
