"""Commands on the raw line and the QEMU board: qemu, bringup, text, monitor, term."""

from __future__ import annotations

import time
from pathlib import Path

from .board_cmds import format_info, info_json
from .core import command


def _qemu_args(p):
    p.add_argument("--smp", type=int, help="number of CPUs")
    p.add_argument("-m", "--memory", help="RAM size, as QEMU's -m")
    p.add_argument("--tcp-port", type=int, help="loopback TCP port for the serial line")
    p.add_argument("--for", dest="for_seconds", type=float, help="stop after this many seconds")
    p.add_argument("--no-wait", action="store_true",
                   help="run at once instead of waiting for the first serial client")


@command("qemu", "start the QEMU board and print its serial URL", _qemu_args, repl=False)
def run_qemu(ctx, args):
    from ...bringup.qemu import QemuBoard
    profile = ctx.profile()
    board = QemuBoard(profile, memory=args.memory, smp=args.smp, port=args.tcp_port,
                      wait_for_client=not args.no_wait)
    board.start()
    print(f"{board.url}", flush=True)
    if board.stub_port is not None:
        print(f"{board.stub_url}", flush=True)
        ctx.notify(f"U-Boot on {board.url}; the stub talks on {board.stub_url} "
                   f"({profile.qemu.stub_serial}): bringup -p {board.url} --stub-port {board.stub_url}")
    ctx.notify(f"QEMU {profile.name} running as pid {board.pid}, serial on {board.url}"
               + (f", for {args.for_seconds:g} s" if args.for_seconds else ", Ctrl-C stops it"))
    deadline = time.monotonic() + args.for_seconds if args.for_seconds else None
    try:
        while board.running() and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    ctx.notify("QEMU stopped")


def bringup(ctx, image=None, timeout=60.0, stub_url=None) -> None:
    """U-Boot -> loady -> crc32 -> booti on the context's line; the banner goes to stdout.
    With stub_url (a board whose stub has its own line) the banner is awaited there, and
    the context moves to that line."""
    from ...bringup.bring_up import bring_up
    from ...transport.expect import Expect
    from ...transport.link import open_link
    profile = ctx.profile()
    link = ctx.link()
    stub_port = open_link(stub_url, ctx.baud()) if stub_url else None
    try:
        with ctx.progress(f"loady {profile.image().name}") as progress:
            result = bring_up(link, profile, image=image, say=ctx.notify, prompt_timeout=timeout,
                              progress=progress,
                              # the stub's banner goes to the same serial log as U-Boot's text
                              stub_link=Expect(stub_port, link.log) if stub_port else None)
    except BaseException:
        if stub_port is not None:
            stub_port.close()
        raise
    if stub_port is not None:
        ctx.close()
        ctx.adopt(stub_port, None, stub_url)
    s = result.seconds
    ctx.notify(f"stub {result.version} up on {result.board} at EL{result.el}: {result.image_size} "
               f"bytes, prompt {s['prompt']:.2f} s, loady {s['loady']:.2f} s, crc32 {s['crc32']:.2f} s, "
               f"boot {s['boot']:.2f} s, total {s['total']:.2f} s")
    if not ctx.json:
        print(result.banner.replace("\r\n", "\n"), end="", flush=True)


def _bringup_args(p):
    p.add_argument("--image", type=Path, help="stub image (default: the board's build)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the U-Boot prompt (default: %(default)s)")
    p.add_argument("--text", action="store_true",
                   help="leave the stub at its text monitor instead of framed mode")
    p.add_argument("--stub-port", help="the stub's own line, when it is not U-Boot's "
                   "(a profile with [qemu] stub_serial: `hvmon qemu` prints both)")


@command("bringup", "load the stub through U-Boot (loady, crc32, booti)", _bringup_args)
def run_bringup(ctx, args):
    bringup(ctx, args.image, args.timeout, args.stub_port)
    if args.text:
        return
    info = ctx.board().info(refresh=True)
    ctx.emit(info_json(info), format_info(info))


@command("text", "hand the stub back to its text monitor")
def run_text(ctx, args):
    ctx.board().bye()
    ctx.release_board()
    ctx.emit({"mode": "text"}, "the stub is back at its text monitor")


@command("monitor", "run text-monitor commands (';' separates them)",
         lambda p: p.add_argument("command", nargs="+"))
def run_monitor(ctx, args):
    """Run monitor commands on a stub that is at its text monitor; print their output."""
    from ...target.monitor import TextMonitor
    monitor = TextMonitor(ctx.link())
    for line in " ".join(args.command).split(";"):
        if line.strip():
            print(monitor.check(line.strip()), end="", flush=True)


@command("term", "attach this terminal to the serial line (Ctrl-] leaves)", repl=False)
def run_term(ctx, args):
    """The terminal on the line; when the port goes away (an adapter unplugged, a serial
    server closed) it says so, waits for it to come back and attaches again."""
    from ...transport.reconnect import waiting_for
    from ..terminal import attach
    from .reconnect import reopen_line

    def gone(exc) -> None:
        ctx.raw_terminal = True
        ctx.notify(f"port {ctx.url()} gone; waiting for "
                   f"{waiting_for(ctx.port_spec() or ctx.url(), ctx.url())}")
        ctx.raw_terminal = False

    def reset_seen(text: str) -> None:
        ctx.raw_terminal = True
        ctx.notify(text)
        ctx.raw_terminal = False

    while True:
        ctx.link()
        lost = attach(ctx.port(), wake=b"\r", log=ctx.serial_log(), stamper=ctx.screen_stamper(),
                      on_lost=gone, say=reset_seen)
        if lost is None:
            return
        ctx.close(keep_lock=True)
        reopen_line(ctx)
        ctx.notify(f"port {ctx.url()} back")
