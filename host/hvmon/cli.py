"""The `hvmon` command line."""

from __future__ import annotations

import argparse
import os
import signal
import struct
import sys
import time
from pathlib import Path

from . import __version__
from .boards import load_profile
from .board import Board, BoardInfo, hypercall
from .bringup import bring_up
from .errors import ConfigError, HvmonError
from .expect import Expect
from .link import open_link
from .monitor import TextMonitor
from .qemu import QemuBoard

DEFAULT_BOARD = "qemu-virt"


def _say(text: str) -> None:
    print(f"hvmon: {text}", file=sys.stderr, flush=True)


def _need_port(args) -> str:
    if not args.port:
        raise ConfigError("no port: give -p PORT (a pyserial URL) or set HVMON_PORT")
    return args.port


def _open(args, profile) -> Expect:
    log = open(args.log, "ab") if args.log else None
    return Expect(open_link(_need_port(args), args.baud or profile.uboot.baud), log)


def _bringup(link: Expect, profile, args) -> None:
    result = bring_up(link, profile, image=args.image, say=_say,
                      prompt_timeout=getattr(args, "timeout", None) or 60.0)
    s = result.seconds
    _say(f"stub {result.version} up on {result.board} at EL{result.el}: {result.image_size} bytes, "
         f"prompt {s['prompt']:.2f} s, loady {s['loady']:.2f} s, crc32 {s['crc32']:.2f} s, "
         f"boot {s['boot']:.2f} s, total {s['total']:.2f} s")
    print(result.banner.replace("\r\n", "\n"), end="", flush=True)


def cmd_qemu(args) -> int:
    profile = load_profile(args.board)
    board = QemuBoard(profile, memory=args.memory, smp=args.smp, port=args.tcp_port,
                      wait_for_client=not args.no_wait)
    board.start()
    print(f"{board.url}", flush=True)
    _say(f"QEMU {profile.name} running as pid {board.pid}, serial on {board.url}"
         + (f", for {args.for_seconds:g} s" if args.for_seconds else ", Ctrl-C stops it"))
    deadline = time.monotonic() + args.for_seconds if args.for_seconds else None
    try:
        while board.running() and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    _say("QEMU stopped")
    return 0


def _number(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ConfigError(f"bad number {text!r} for {what}") from None


def format_info(info: BoardInfo) -> str:
    lines = [f"hvmon {info.version} on {info.board}, protocol {info.protocol_version}, "
             f"boot id {info.boot_id:08x}",
             f"frames: payload <= {info.max_payload} bytes, window {info.window}, "
             f"data chunk {info.data_chunk}, staging {info.staging_size}",
             f"capabilities: {', '.join(c.name for c in type(info.capabilities) if c in info.capabilities)}"]
    lines += [f"RAM        {r.base:#018x}-{r.end - 1:#018x} ({r.size >> 20} MiB)" for r in info.ram]
    lines += [f"protected  {r.base:#018x}-{r.end - 1:#018x} {r.name}" for r in info.protected]
    return "\n".join(lines)


def _board(args) -> Board:
    profile = load_profile(args.board)
    return Board.open(_need_port(args), args.baud or profile.uboot.baud,
                      trace=open(args.log, "ab") if args.log else None)


def cmd_bringup(args) -> int:
    profile = load_profile(args.board)
    link = _open(args, profile)
    _bringup(link, profile, args)
    if args.text:
        return 0
    board = Board.attach(link.port)
    print(format_info(board.info()))
    board.close()
    return 0


def cmd_info(args) -> int:
    with _board(args) as board:
        print(format_info(board.info()))
    return 0


def cmd_load(args) -> int:
    from .progress import progress_bar
    addr = _number(args.addr, "ADDR")
    path = Path(args.file)
    with _board(args) as board, progress_bar(f"{path.name} -> {addr:#x}") as progress:
        stats = board.write(addr, path, progress=progress, compress=not args.raw,
                            skip_unchanged=not args.no_skip, verify=not args.no_verify)
    wire = stats.sent_raw + stats.sent_deflated
    print(f"loaded {stats.total} bytes at {addr:#x} in {stats.seconds:.2f} s: "
          f"{stats.skipped} unchanged, {stats.sent_raw} sent raw, {stats.deflated_from} sent "
          f"deflated as {stats.sent_deflated}; {wire} bytes of data on the wire"
          + ("" if args.no_verify else ", CRC verified"))
    return 0


def cmd_read(args) -> int:
    from .progress import progress_bar
    addr, length = _number(args.addr, "ADDR"), _number(args.length, "LEN")
    with _board(args) as board, progress_bar(f"{addr:#x} -> {args.output}") as progress:
        data = board.read(addr, length, progress=progress)
    Path(args.output).write_bytes(data)
    print(f"read {len(data)} bytes from {addr:#x} into {args.output}")
    return 0


def cmd_hvc(args) -> int:
    try:
        target = hypercall(int(args.name, 0))
    except ValueError:
        target = hypercall(args.name)
    values = [_number(a, f"argument {i + 1} of {target.name}") for i, a in enumerate(args.args)]
    with _board(args) as board:
        result = board.hvc(target.id, *values)
    if result.status != 0:
        from . import protocol as P
        status = -result.status
        name = "NOT_SUPPORTED (SMCCC -1)" if result.status == -1 else (
            P.Status(status).name if status in P.Status.__members__.values() else str(status))
        print(f"{target.name}: x0 = {result.status} ({name})")
        return 5
    print(f"{target.name}: x0 = 0 (OK)")
    names = target.results or ("x1", "x2", "x3")
    for i, value in enumerate(result.x[1:4]):
        label = names[i] if i < len(names) else f"x{i + 1}"
        if i < len(names) or value:
            print(f"  {label} = {value:#x} ({value})")
    return 0


def _remembered(args, name: str) -> Path:
    """Where `vm create` noted a VM's config for this port, so `vm reset` can reload it."""
    import hashlib
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "hvmon" / "vms"
    return base / hashlib.sha1(args.port.encode()).hexdigest()[:12] / name


def _print_event(event: int, payload: bytes) -> None:
    from . import protocol as P
    from .vms import parse_vm_stopped
    if event == P.Event.VM_STOPPED:
        e = parse_vm_stopped(payload)
        extra = (f" ESR {e.esr:#x} ELR {e.elr:#x} FAR {e.far:#x} IPA {e.ipa:#x}"
                 if e.reason == "fault" else "")
        print(f"\r\nhvmon: VM {e.vm} stopped: {e.reason}{extra}\r", file=sys.stderr, flush=True)
    elif event == P.Event.LOST:
        channel, count = struct.unpack_from("<II", payload, 4)
        print(f"\r\nhvmon: {count} bytes of channel {channel} were lost\r", file=sys.stderr, flush=True)


def cmd_vm(args) -> int:
    from . import vms
    from .progress import progress_bar
    with _board(args) as board:
        board.on_event = _print_event
        if args.action == "create":
            with progress_bar(f"VM {Path(args.target).stem}") as progress:
                vm_id, config = vms.create_vm(board, args.target, progress=progress)
            note = _remembered(args, config.name)
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(str(Path(args.target).resolve()))
            print(f"created VM {vm_id} {config.name}: {config.vcpus} vCPU(s), "
                  + ", ".join(f"IPA {r.ipa:#x} <- PA {r.pa:#x} ({r.size >> 20} MiB)" for r in config.memory))
            if args.start:
                vms.start_vm(board, config.name)
                print(f"started {config.name}")
        elif args.action == "list":
            for e in vms.vm_list(board):
                print(f"{e.id}  {e.name:15} {e.state:8} {e.vcpus} vCPU  {e.stop_reason}")
        elif args.action == "info":
            e = vms.find_vm(board, args.target)
            print(f"VM {e.id} {e.name}: {e.state}, {e.vcpus} vCPU(s)"
                  + (f", last stop: {e.stop_reason}" if e.stop_reason else ""))
        elif args.action in ("start", "stop", "destroy"):
            getattr(vms, f"{args.action}_vm")(board, args.target)
            print(f"{args.action}: {args.target} done")
        elif args.action == "reset":
            note = _remembered(args, args.target)
            if not note.exists():
                raise ConfigError(f"no config remembered for VM {args.target!r}: vm create it again")
            vms.destroy_vm(board, args.target)
            vms.create_vm(board, note.read_text())      # unchanged chunks are skipped
            vms.start_vm(board, args.target)
            print(f"reset: {args.target} reloaded and started")
        time.sleep(0.2)                                 # let a pending event be printed
    return 0


def cmd_console(args) -> int:
    from .terminal import attach_console
    from .vms import find_vm
    with _board(args) as board:
        board.on_event = _print_event
        vm = find_vm(board, args.name)
        attach_console(board, vm.id, vm.name)
    return 0


def cmd_text(args) -> int:
    with _board(args) as board:
        board.bye()
    print("the stub is back at its text monitor")
    return 0


def cmd_monitor(args) -> int:
    """Run monitor commands on a stub that is already up; print their output."""
    profile = load_profile(args.board)
    monitor = TextMonitor(_open(args, profile))
    for line in " ".join(args.command).split(";"):
        if line.strip():
            print(monitor.check(line.strip()), end="")
    return 0


def cmd_term(args) -> int:
    from .terminal import attach
    profile = load_profile(args.board)
    attach(_open(args, profile).port, wake=b"\r")
    return 0


def _preload_args(config_path: Path) -> list[str]:
    """QEMU loader devices that put a VM's kernel and initrd where its config places them,
    like a board whose RAM kept them across a warm reset: the push then only checks CRCs."""
    from .kernel import load_kernel
    from .vmconfig import load_vm_config, plan_layout
    config = load_vm_config(config_path)
    if config.memory[0].pa is None:
        return []
    kernel = load_kernel(config.kernel)
    initrd_size = config.initrd.stat().st_size if config.initrd else 0
    layout = plan_layout(config, kernel, initrd_size)
    args = []
    if kernel.format == "Image":
        args += ["-device", f"loader,file={config.kernel},addr={layout.pa(config, layout.kernel_ipa):#x},force-raw=on"]
    if config.initrd:
        args += ["-device", f"loader,file={config.initrd},addr={layout.pa(config, layout.initrd_ipa):#x},force-raw=on"]
    return args


def cmd_demo(args) -> int:
    """QEMU board, stub through U-Boot, the Linux guest from the board's linux.toml, and
    this terminal on the guest's console (Ctrl-] leaves and stops QEMU)."""
    from . import vms
    from .terminal import attach, attach_console
    profile = load_profile(args.board)
    guest = profile.path.parent / "linux.toml"
    with_guest = not args.monitor and guest.exists()
    extra = _preload_args(guest) if with_guest else []
    with QemuBoard(profile, memory=args.memory, smp=args.smp, extra_args=extra) as board:
        _say(f"QEMU running as pid {board.pid}, serial on {board.url}")
        args.port = board.url
        link = _open(args, profile)
        _bringup(link, profile, args)
        if not with_guest:
            if not args.no_terminal:
                attach(link.port, wake=b"\r")
        else:
            stub = Board.attach(link.port)
            stub.on_event = _print_event
            _say(f"creating the VM from {guest}")
            vm_id, config = vms.create_vm(stub, guest)
            vms.start_vm(stub, config.name)
            _say(f"{config.name} started: its console follows")
            if args.no_terminal:
                deadline = time.monotonic() + 60
                while b"/ # " not in stub.consoles.get(vm_id, b"") and time.monotonic() < deadline:
                    time.sleep(0.1)
                sys.stdout.write(stub.consoles.get(vm_id, b"").decode(errors="replace"))
            else:
                attach_console(stub, vm_id, config.name)
            stub.session.close()
    _say("QEMU stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hvmon", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hvmon {__version__}")
    parser.add_argument("-p", "--port", default=os.environ.get("HVMON_PORT"),
                        help="serial port as a pyserial URL (default: $HVMON_PORT)")
    parser.add_argument("--baud", type=int, help="baud rate (default: the board profile's)")
    parser.add_argument("-b", "--board", default=os.environ.get("HVMON_BOARD", DEFAULT_BOARD),
                        help="board profile name or path to a board.toml (default: %(default)s)")
    parser.add_argument("--log", help="append everything received on the serial line to this file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("qemu", help="start the QEMU board and print its serial URL")
    p.add_argument("--smp", type=int, help="number of CPUs")
    p.add_argument("-m", "--memory", help="RAM size, as QEMU's -m")
    p.add_argument("--tcp-port", type=int, help="loopback TCP port for the serial line")
    p.add_argument("--for", dest="for_seconds", type=float, help="stop after this many seconds")
    p.add_argument("--no-wait", action="store_true",
                   help="run at once instead of waiting for the first serial client")
    p.set_defaults(func=cmd_qemu)

    p = sub.add_parser("bringup", help="load the stub through U-Boot (loady, crc32, booti)")
    p.add_argument("--image", type=Path, help="stub image (default: the board's build)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the U-Boot prompt (default: %(default)s)")
    p.add_argument("--text", action="store_true",
                   help="leave the stub at its text monitor instead of framed mode")
    p.set_defaults(func=cmd_bringup)

    p = sub.add_parser("info", help="protocol, board, RAM map and protected ranges (framed)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("load", help="load FILE at ADDR: skip unchanged, deflate, verify CRC")
    p.add_argument("file")
    p.add_argument("addr")
    p.add_argument("--raw", action="store_true", help="send uncompressed")
    p.add_argument("--no-skip", action="store_true", help="send even chunks already in place")
    p.add_argument("--no-verify", action="store_true", help="skip the final CRC check")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("read", help="read LEN bytes at ADDR into a file")
    p.add_argument("addr")
    p.add_argument("length")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_read)

    p = sub.add_parser("hvc", help="issue a hypercall by name or function id")
    p.add_argument("name", help="name from protocol/hvmon.toml, or a function id")
    p.add_argument("args", nargs="*", help="x1..x6")
    p.set_defaults(func=cmd_hvc)

    p = sub.add_parser("vm", help="VMs: create FILE.toml | start|stop|reset|destroy|info NAME | list")
    p.add_argument("action", choices=["create", "start", "stop", "reset", "destroy", "info", "list"])
    p.add_argument("target", nargs="?", help="config file (create) or VM name")
    p.add_argument("--start", action="store_true", help="with create: start it too")
    p.set_defaults(func=cmd_vm)

    p = sub.add_parser("console", help="attach this terminal to a VM's console (Ctrl-] detaches)")
    p.add_argument("name")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("text", help="hand the stub back to its text monitor")
    p.set_defaults(func=cmd_text)

    p = sub.add_parser("monitor", help="run text-monitor commands (';' separates them)")
    p.add_argument("command", nargs="+")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("term", help="attach this terminal to the serial line (Ctrl-] leaves)")
    p.set_defaults(func=cmd_term)

    p = sub.add_parser("demo", help="QEMU board + bring-up + terminal at the stub's monitor")
    p.add_argument("--smp", type=int)
    p.add_argument("-m", "--memory")
    p.add_argument("--image", type=Path)
    p.add_argument("--no-terminal", action="store_true",
                   help="print what the guest's console shows up to its shell prompt, then stop")
    p.add_argument("--monitor", action="store_true",
                   help="stop at the stub's text monitor instead of starting the Linux guest")
    p.set_defaults(func=cmd_demo)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A closed terminal or a kill stops hvmon the way Ctrl-C does: QEMU boards it
    # started are stopped by their PID on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return args.func(args)
    except HvmonError as exc:
        print(f"hvmon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hvmon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
