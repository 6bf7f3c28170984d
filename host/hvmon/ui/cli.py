"""The `hvmon` command line: global options, then commands chained with `+`, run in
order on one connection; the first failure stops the chain with its exit code.

    hvmon -p PORT load Image 0x40400000 + vm start linux + console linux

Without a command, and with a port known (-p, $HVMON_PORT, or a default board in the
user config), hvmon starts its REPL. Exit codes: 0 done, 1 other error, 2 usage or bad
configuration, 3 link, 4 timeout, 5 the board refused, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..errors import ConfigError, HvmonError
from .commands import (REGISTRY, ArgParser, Context, GlobalOptions, HelpShown, expand_aliases,
                       lookup, split_chain)
from .commands.core import command
from .commands.tool_cmds import command_summary
from .completion import SHELLS


class _Version(argparse.Action):
    """--version, looking the version up only when asked (see hvmon.__getattr__)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__
        print(f"hvmon {__version__}")
        parser.exit()


def build_parser() -> ArgParser:
    parser = ArgParser(prog="hvmon", description="Drive the hvmon stub hypervisor over a serial line.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="commands (chain them with '+'; `hvmon help CMD` for one):\n"
                              + command_summary(False)
                              + "\n\nexit codes: 0 done, 1 error, 2 usage or configuration, "
                                "3 link, 4 timeout, 5 board refused")
    parser.add_argument("--version", action=_Version, nargs=0, help="show hvmon's version and exit")
    parser.add_argument("-p", "--port", default=os.environ.get("HVMON_PORT"),
                        help="pyserial URL, 'auto' (the only USB serial adapter), 'id:SERIAL' (the "
                             "adapter with that USB serial number: `hvmon devs`), labgrid:PLACE (a "
                             "labgrid place you acquired) or a board named in the user config "
                             "(default: $HVMON_PORT)")
    parser.add_argument("--baud", type=int, help="baud rate (default: the board profile's)")
    parser.add_argument("-b", "--board", default=os.environ.get("HVMON_BOARD"),
                        help="board profile name or path to a board.toml (default: qemu-virt)")
    parser.add_argument("--log", help="append everything received on the serial line to this file")
    parser.add_argument("--log-dir", metavar="DIR",
                        help="write stamped text logs (serial line, events, stub log, each guest "
                             "console) into a new folder per run under DIR (config: log_dir)")
    parser.add_argument("--timestamps", action="store_true",
                        help="stamp each line shown from the board with the time (config: "
                             "timestamps)")
    parser.add_argument("--wait", nargs="?", type=float, const=-1.0, default=0.0,
                        metavar="SECONDS",
                        help="when another hvmon or a test run holds the port, wait for it "
                             "to leave (as long as it takes, or SECONDS) instead of failing")
    parser.add_argument("--reup", action="store_true",
                        help="repl, console: after a board reset, bring the stub up again and "
                             "apply the last plan `up` applied to this port")
    parser.add_argument("--json", action="store_true", help="results as JSON, one document per command")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND ...")
    return parser


# Registered here, beside the global options it completes as well as the commands.
@command("completion", "print a shell completion script: bash, zsh or fish",
         lambda p: p.add_argument("shell", choices=SHELLS), complete=(f"word:{','.join(SHELLS)}",),
         repl=False,
         details="completion bash|zsh|fish: e.g. `hvmon completion bash > "
                 "~/.local/share/bash-completion/completions/hvmon`; "
                 "`hvmon completion fish > ~/.config/fish/completions/hvmon.fish`.")
def run_completion(ctx, args):
    from .completion import script
    sys.stdout.write(script(args.shell, REGISTRY, build_parser()))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_repl(ctx: Context) -> int:
    """The REPL, imported when it starts: one-shot commands never load prompt_toolkit."""
    from .repl import run_repl as repl
    return repl(ctx)


def run_chain(ctx: Context, chain: list[list[str]]) -> int:
    """Parse every command first (a typo late in the chain must not leave the board
    half-done), then run them in order."""
    parsed = []
    for words in chain:
        cmd = lookup(words[0])
        try:
            parsed.append((cmd, cmd.parse(words[1:])))
        except HelpShown:
            return 0
    for cmd, args in parsed:
        code = cmd.run(ctx, args) or 0
        if code:
            return code
    return 0


# SIGHUP (a closed terminal) exists only on POSIX systems.
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))


def main(argv: list[str] | None = None) -> int:
    # A closed terminal or a kill stops hvmon the way Ctrl-C does: QEMU boards it
    # started are stopped by their PID on the way out.
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS[1:]:
        signal.signal(sig, _interrupt)
    ctx = None
    try:
        try:
            opts = build_parser().parse_args(argv)
        except HelpShown:
            return 0
        options = GlobalOptions(opts.port, opts.board, opts.baud, opts.log, opts.json, opts.quiet,
                                log_dir=opts.log_dir, timestamps=opts.timestamps,
                                wait=None if opts.wait < 0 else opts.wait, reup=opts.reup)
        ctx = Context(options, prompt=run_repl)
        for sig in SIGNALS:
            signal.signal(sig, ctx.on_interrupt)
        chain = expand_aliases(split_chain(opts.words), ctx.user.aliases)
        if not chain:
            if not ctx.port_known():
                raise ConfigError("no command, and no port for the REPL: give -p PORT, set "
                                  f"HVMON_PORT or name a default board in {ctx.user.path} "
                                  "(hvmon --help lists the commands)")
            return run_repl(ctx)
        return run_chain(ctx, chain)
    except HvmonError as exc:
        print(f"hvmon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if ctx is not None and not ctx.drain(10):
            print("hvmon: interrupted; requests still unanswered", file=sys.stderr)
        else:
            print("hvmon: interrupted", file=sys.stderr)
        return 130
    finally:
        if ctx is not None:
            ctx.close(exiting=True)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
