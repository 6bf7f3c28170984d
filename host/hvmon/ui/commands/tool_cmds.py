"""Commands around the board: devs, up (plans), demo, run (scripts), help."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

from ...errors import ConfigError
from .core import REGISTRY, command, lookup


@command("devs", "serial ports with USB VID:PID, serial number (for -p id:SERIAL) and description")
def run_devs(ctx, args):
    from ...transport.serial_ports import list_devices
    devices = list_devices()
    lines = [f"{d.device:24} {d.vid_pid or '-':9} {d.serial_number or '-':20} {d.description}".rstrip()
             for d in devices]
    ctx.emit([d.as_dict() for d in devices], "\n".join(lines) or "no serial ports found")


def _up_args(p):
    p.add_argument("plan", help="the plan (TOML)")
    p.add_argument("--no-terminal", action="store_true",
                   help="do not attach to the plan's console, and do not wait for Ctrl-C")
    p.add_argument("--image", type=Path, help="stub image for a U-Boot bring-up")
    p.add_argument("--stub-port", metavar="URL",
                   help="the stub's own line, when it is not U-Boot's -p PORT (as `bringup "
                        "--stub-port`; `hvmon qemu` prints it for qemu-virt-16550)")
    p.add_argument("--smp", type=int, help="CPUs, for a QEMU board `up` starts itself")
    p.add_argument("-m", "--memory", help="RAM, for a QEMU board `up` starts itself")
    p.add_argument("--dry-run", action="store_true",
                   help="print every step and what it would send (bytes, compressed, seconds at "
                        "the line rate); open no port")
    p.add_argument("--board-dtb", metavar="FILE",
                   help="with --dry-run: the board's DTB to cut guest DTBs from (a QEMU board's "
                        "is QEMU's own)")


def dry_run(ctx, args) -> None:
    from ...bringup.dry_run import dry_run as plan_steps
    from ...bringup.plan import load_plan
    plan = load_plan(args.plan)
    port = ctx.options.port and (ctx.url() if not ctx.has_board() else None)
    steps = plan_steps(plan, port, args.image, args.board_dtb, args.smp, args.memory, ctx.options.baud)
    total = sum(s.detail.get("seconds") or 0 for s in steps)
    ctx.emit({"plan": str(plan.path), "board": plan.board, "dry_run": True,
              "steps": [{"step": s.what, **s.detail} for s in steps],
              "seconds": round(total, 2)},
             "\n".join(f"{i + 1:2}. {s.text}" for i, s in enumerate(steps))
             + f"\nline time at least {total:.1f} s (bytes / (baud / 10); framing and waits not counted)")


def up(ctx, plan_path, no_terminal=False, image=None, smp=None, memory=None, show_console=False,
       own_board=False, stub_url=None):
    """Reach the board the plan names, apply the plan, then hand over the plan's console.
    A QEMU board `up` started itself lives as long as this command: it is stopped when
    the console is left, on Ctrl-C, or at once with --no-terminal. To keep a board up
    across runs, start it with `hvmon qemu` and give `up -p URL`."""
    from ...bringup.plan import apply_plan, load_plan, reach_board
    from .vm_cmds import attach
    plan = load_plan(plan_path)
    ctx.prefer_board(plan.board)
    url = ctx.url() if not own_board and (ctx.has_board() or ctx.port_known()) else None
    if ctx.has_board() and not own_board:                  # in the REPL, or after another command of a chain
        board, qemu = ctx.board(), None
        if board.info().board != plan.board:
            from ...bringup.plan import PlanError
            raise PlanError(f"{plan.path}: board: {plan.board}, but the stub on {ctx.url()} runs "
                            f"on {board.info().board}")
    else:
        ctx.close()
        if url is not None:
            ctx.lock_port(url)
        reached = reach_board(plan, url, log=ctx.say, image=image,
                              qemu_options={"smp": smp, "memory": memory}, baud=ctx.options.baud,
                              serial_log=ctx.serial_log(), stub_url=stub_url)
        board, qemu = reached.board, reached.qemu
        ctx.adopt(reached.port, board, reached.url)
    try:
        report = apply_plan(plan, board, log=ctx.say, progress_bar=ctx.progress,
                            on_created=lambda vm, name, config: ctx.note_vm(vm, name, config.kernel))
        if qemu is None:
            from .reconnect import remember_plan
            remember_plan(ctx.url(), plan.path)           # what --reup applies again
        done = ", ".join(part for part in (
            f"created {', '.join(report.created)}" if report.created else "",
            f"skipped {', '.join(report.skipped)} (unchanged)" if report.skipped else "",
            f"started {', '.join(report.started)}" if report.started else "") if part)
        ctx.emit(report.as_dict(), f"up: {done or 'nothing to do'} in {report.seconds:.2f} s")
        if plan.console and show_console and no_terminal:
            vm = report.vm_ids[plan.console]
            sys.stdout.write(bytes(board.consoles.get(vm, b"")).decode(errors="replace"))
            sys.stdout.flush()
        elif plan.console and not no_terminal and sys.stdin.isatty():
            attach(ctx, plan.console)
        elif qemu is not None and not no_terminal and not ctx.interactive:
            ctx.notify("the QEMU board stays up until Ctrl-C")
            try:
                while qemu.running():
                    time.sleep(0.2)
            except KeyboardInterrupt:
                pass                     # the way to end this wait: not an error
    finally:
        if qemu is not None:
            ctx.close()
            qemu.stop()
            ctx.notify("QEMU stopped")


@command("up", "bring the board to a plan's state (skips what is unchanged)", _up_args,
         complete=("file",),
         details="up PLAN.toml: reach the board (a running stub, U-Boot + loady, or a QEMU "
                 "board started for the run), create and start the plan's VMs, wait for their "
                 "consoles. Running again skips VMs that are running and unchanged.")
def run_up(ctx, args):
    if args.dry_run:
        return dry_run(ctx, args)
    up(ctx, args.plan, args.no_terminal, args.image, args.smp, args.memory, stub_url=args.stub_port)


def _demo_args(p):
    p.add_argument("--smp", type=int)
    p.add_argument("-m", "--memory")
    p.add_argument("--image", type=Path)
    p.add_argument("--no-terminal", action="store_true",
                   help="print what the guest's console shows up to its shell prompt, then stop")
    p.add_argument("--monitor", action="store_true",
                   help="stop at the stub's text monitor instead of starting the Linux guest")


@command("demo", "QEMU board + bring-up + the Linux guest's console (boards/<board>/demo.toml)",
         _demo_args, repl=False)
def run_demo(ctx, args):
    profile = ctx.profile()
    plan = profile.path.parent / "demo.toml"
    if args.monitor or not plan.exists():
        return _demo_monitor(ctx, args)
    # The demo always starts its own QEMU board, whatever -p or $HVMON_PORT say.
    up(ctx, plan, args.no_terminal, args.image, args.smp, args.memory, show_console=True,
       own_board=True)


def _demo_monitor(ctx, args):
    from ...bringup.qemu import QemuBoard
    from ..terminal import attach
    from .line_cmds import bringup
    with QemuBoard(ctx.profile(), memory=args.memory, smp=args.smp) as board:
        ctx.notify(f"QEMU running as pid {board.pid}, serial on {board.url}")
        ctx.set_url(board.url)
        bringup(ctx, args.image, stub_url=board.stub_url if board.stub_port else None)
        if not args.no_terminal:
            attach(ctx.port(), wake=b"\r", log=ctx.serial_log(), stamper=ctx.screen_stamper())
        ctx.close()
    ctx.notify("QEMU stopped")


def _run_args(p):
    p.add_argument("script", help="a Python file; it gets `board` (connected) and `hvmon`")
    p.add_argument("args", nargs="*", help="its sys.argv[1:]")


@command("run", "run a Python script with a connected `board` object", _run_args,
         complete=("file",))
def run_run(ctx, args):
    import hvmon
    import hvmon.board  # scripts get `hvmon` with its public hvmon.board.Board loaded
    path = Path(args.script)
    if not path.is_file():
        raise ConfigError(f"run: no such script {path}")
    board = ctx.board()
    saved = sys.argv
    sys.argv = [str(path), *args.args]
    try:
        runpy.run_path(str(path), init_globals={"board": board, "hvmon": hvmon, "ctx": ctx},
                       run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved


def command_summary(interactive: bool) -> str:
    names = sorted(n for n, c in REGISTRY.items() if c.repl or not interactive)
    width = max(map(len, names))
    lines = [f"  {n:{width}}  {REGISTRY[n].help}" for n in names]
    return "\n".join(lines)


@command("help", "list the commands, or `help CMD` for one",
         lambda p: p.add_argument("name", nargs="?"), complete=("command",))
def run_help(ctx, args):
    if args.name:
        print(lookup(args.name, ctx.interactive).parser().format_help().rstrip())
        return
    extra = ("\n  exit      leave (Ctrl-D too); Ctrl-C cancels a running command"
             if ctx.interactive else "")
    print("commands (chain them with '+'):\n" + command_summary(ctx.interactive) + extra)


@command("repl", "the interactive prompt (plain `hvmon` starts it too when a port is known)",
         repl=False)
def run_repl_command(ctx, args):
    return ctx.run_prompt()
