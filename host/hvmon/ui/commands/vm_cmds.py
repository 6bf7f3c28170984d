"""Guest VMs: vm create|start|stop|reset|destroy|info|list|snapshot|restore|drop|save|load,
and console."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path

from ...errors import ConfigError
from .core import command

DEFAULT_TAG = "default"           # hvmon.target.vms.DEFAULT_TAG, without importing target here

ACTIONS = ("create", "start", "stop", "reset", "destroy", "info", "list", "check", "snapshot",
           "restore", "drop", "save", "load")


def remembered(url: str, name: str) -> Path:
    """Where `vm create` noted a VM's config for this port, so `vm reset` can reload it."""
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "hvmon" / "vms"
    return base / hashlib.sha1(url.encode()).hexdigest()[:12] / name


def vm_table(entries) -> str:
    return "\n".join(f"{e.id}  {e.name:15} {e.state:8} {e.vcpus} vCPU  {e.stop_reason}".rstrip()
                     for e in entries)


def share_line(sh) -> str:
    """A shared region and its doorbells, as `vm info` shows it."""
    bells = (f"doorbell: SPI {sh.doorbell_irq} here" if sh.doorbell_irq else "no doorbell here")
    if sh.peer:
        bells += f", SPI {sh.peer_doorbell_irq} in {sh.peer}" if sh.peer_doorbell_irq else \
            f", none in {sh.peer}"
    peer = sh.peer or "no peer yet"
    return (f"  shared {sh.name}: IPA {sh.ipa:#x} PA {sh.pa:#x} size {sh.size:#x}, "
            f"with {peer}; {bells}")


def vm_json(e) -> dict:
    return {"id": e.id, "name": e.name, "state": e.state, "vcpus": e.vcpus,
            "stop_reason": e.stop_reason}


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def snapshot_line(s) -> str:
    """A snapshot, as `vm info` shows it."""
    return (f"  snapshot {s.tag}: {mib(s.ram)} of guest RAM, {mib(s.size)} of board RAM at "
            f"PA {s.pa:#x}")


def snapshot_json(s) -> dict:
    return {"tag": s.tag, "pa": s.pa, "size": s.size, "ram": s.ram, "seq": s.seq}


def snapshots(ctx, args) -> None:
    """vm snapshot | restore | drop."""
    from ...target import vms
    board = ctx.board()
    if args.action == "snapshot":
        if args.tag:
            raise ConfigError(f"vm snapshot: give the tag with --as {args.tag}")
        taken = vms.snapshot_vm(board, args.target, args.as_tag or DEFAULT_TAG)
        s = taken.snapshot
        ctx.emit({"action": "snapshot", "vm": args.target, **snapshot_json(s),
                  "paused_us": taken.paused_us},
                 f"snapshot {s.tag} of {args.target}: {mib(s.ram)} of guest RAM in {mib(s.size)} at "
                 f"PA {s.pa:#x}; the guest stood still {taken.paused_us / 1000:.1f} ms")
    elif args.action == "restore":
        tag, paused_us = vms.restore_vm(board, args.target, args.tag)
        ctx.emit({"action": "restore", "vm": args.target, "tag": tag, "paused_us": paused_us},
                 f"restored {args.target} from snapshot {tag} in {paused_us / 1000:.1f} ms")
    else:
        if not args.tag:
            raise ConfigError("vm drop: needs the VM's name and the snapshot's tag")
        vms.drop_snapshot(board, args.target, args.tag)
        ctx.emit({"action": "drop", "vm": args.target, "tag": args.tag},
                 f"dropped snapshot {args.tag} of {args.target}")


def save_or_load(ctx, args) -> None:
    """vm save NAME FILE | vm load FILE [--name NAME] (hvmon.target.vm_file)."""
    from ...target import vm_file
    board = ctx.board()
    if args.action == "save":
        if not args.tag:
            raise ConfigError("vm save: needs the VM's name and a file to write")
        with ctx.progress(f"save {args.target}") as progress:
            st = vm_file.save_vm(board, args.target, args.tag, progress=progress)
        ctx.emit({"action": "save", "vm": args.target, "file": args.tag, "guest_ram": st.guest_ram,
                  "wire_bytes": st.wire_bytes, "file_bytes": st.file_bytes,
                  "pages": st.pages_sent, "seconds": round(st.seconds, 3)},
                 f"saved {args.target} to {args.tag}: {mib(st.guest_ram)} of guest RAM, "
                 f"{mib(st.wire_bytes)} over the line ({st.wire_ratio:.3f}), file {mib(st.file_bytes)}, "
                 f"{st.seconds:.1f} s")
        return
    with ctx.progress(f"load {args.target}") as progress:
        st = vm_file.load_vm(board, args.target, args.name, progress=progress)
    ctx.vm_names[st.vm] = st.name
    ctx.emit({"action": "load", "vm": st.name, "id": st.vm, "file": args.target, "sent": st.sent,
              "skipped": st.skipped, "seconds": round(st.seconds, 3)},
             f"loaded {st.name} (VM {st.vm}) from {args.target}: {mib(st.sent)} pushed, "
             f"{mib(st.skipped)} already in place; it runs")


def _vm_args(p):
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("target", nargs="?", help="config file (create) or VM name")
    p.add_argument("tag", nargs="?", help="restore, drop: the snapshot's tag (restore: default "
                   "the VM's newest); save: the file to write")
    p.add_argument("--name", help="with load: the VM's name (default: the one saved)")
    p.add_argument("--as", dest="as_tag", metavar="TAG",
                   help=f"with snapshot: its tag (default {DEFAULT_TAG!r}; one already there is replaced)")
    p.add_argument("--start", action="store_true", help="with create: start it too")
    p.add_argument("--board", dest="check_board", metavar="PROFILE",
                   help="with check: the board profile (default: -b, or qemu-virt)")
    p.add_argument("--board-dtb", metavar="FILE",
                   help="with check: the board's DTB (default for a QEMU board: QEMU's own)")
    p.add_argument("-o", "--output", metavar="FILE", help="with check: write the guest DTB here")


def create(ctx, path: str, start: bool = False) -> None:
    from ...target import vms
    board = ctx.board()
    with ctx.progress(f"VM {Path(path).stem}") as progress:
        vm_id, config = vms.create_vm(board, path, progress=progress)
    ctx.note_vm(vm_id, config.name, config.kernel)
    note = remembered(ctx.url(), config.name)
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(str(Path(path).resolve()))
    ctx.emit({"id": vm_id, "name": config.name, "vcpus": config.vcpus, "started": start,
              "memory": [{"ipa": r.ipa, "pa": r.pa, "size": r.size} for r in config.memory]},
             f"created VM {vm_id} {config.name}: {config.vcpus} vCPU(s), "
             + ", ".join(f"IPA {r.ipa:#x} <- PA {r.pa:#x} ({r.size >> 20} MiB)" for r in config.memory))
    if start:
        vms.start_vm(board, config.name)
        if not ctx.json:
            print(f"started {config.name}", flush=True)


def prepared_json(vm) -> dict:
    c, lay = vm.config, vm.layout
    return {"name": c.name, "vcpus": c.vcpus, "pcpus": list(c.pcpus), "cpus_from": list(vm.cpus_from),
            "memory": [{"ipa": r.ipa, "pa": r.pa, "size": r.size} for r in c.memory],
            "kernel": {"file": str(c.kernel), "format": vm.kernel.format, "bytes": len(vm.kernel.data),
                       "ipa": lay.kernel_ipa, "entry": lay.entry_ipa},
            "initrd": ({"file": str(c.initrd), "bytes": len(vm.initrd), "ipa": lay.initrd_ipa}
                       if c.initrd else None),
            "dtb": {"origin": vm.dtb_origin, "bytes": len(vm.dtb), "ipa": lay.dtb_ipa},
            "gic": {"distributor": vm.gic_dist, "redistributor": vm.gic_redist},
            "console": {"ipa": c.console_ipa, "irq": c.console_irq}, "cmdline": c.cmdline}


def prepared_text(vm) -> str:
    c, lay = vm.config, vm.layout
    pcpus = ("picked by the stub" if all(p == 0 for p in c.pcpus)
             else "pinned to physical cores " + ", ".join(map(str, c.pcpus)))
    gic = ("the board GIC's addresses" if not vm.gic_dist
           else f"distributor {vm.gic_dist:#x}, redistributors {vm.gic_redist:#x}")
    lines = [f"{c.name}: {c.vcpus} vCPU(s), {pcpus}"
             + (f" (board CPU nodes {', '.join(vm.cpus_from)})" if vm.cpus_from else "")]
    lines += [f"  memory  IPA {r.ipa:#x} <- PA {r.pa:#x} ({r.size >> 20} MiB)" for r in c.memory]
    lines.append(f"  kernel  {c.kernel} ({vm.kernel.format}, {len(vm.kernel.data)} bytes) at "
                 f"{lay.kernel_ipa:#x}, entry {lay.entry_ipa:#x}")
    if c.initrd:
        lines.append(f"  initrd  {c.initrd} ({len(vm.initrd)} bytes) at {lay.initrd_ipa:#x}")
    lines.append(f"  dtb     {vm.dtb_origin} ({len(vm.dtb)} bytes) at {lay.dtb_ipa:#x}")
    lines.append(f"  gic     {gic}")
    lines.append(f"  console PL011 at {c.console_ipa:#x}, interrupt {c.console_irq}")
    return "\n".join(lines)


def check(ctx, args) -> int:
    """vm check: everything `vm create` checks and builds, without a board."""
    from ...bringup.board_profile import load_profile
    from ...bringup.offline import check_vm, dtc_warnings, offline_board
    profile = load_profile(args.check_board) if args.check_board else ctx.profile()
    board = offline_board(profile, args.board_dtb)
    vm = check_vm(args.target, board)
    warnings = dtc_warnings(vm.dtb)
    if args.output:
        Path(args.output).write_bytes(vm.dtb)
    data = prepared_json(vm) | {"board": profile.name, "board_dtb": board.dtb_source,
                                "dtc_warnings": warnings, "output": args.output}
    text = prepared_text(vm) + (f"\n  wrote the guest DTB to {args.output}" if args.output else "")
    if warnings:
        text += "\n" + "\n".join(f"  dtc: {w}" for w in warnings)
    ctx.emit(data, text)
    if warnings:
        ctx.notify(f"vm check: dtc warns about the guest DTB cut from {board.dtb_source}")
        return 1
    return 0


@command("vm", "VMs: create|check FILE.toml | start|stop|reset|destroy|info NAME | list | "
         "snapshot NAME [--as TAG] | restore NAME [TAG] | drop NAME TAG | save NAME FILE | "
         "load FILE [--name NAME]", _vm_args,
         complete=(f"word:{','.join(ACTIONS)}", "vm"),
         details="vm check FILE.toml [--board PROFILE] [--board-dtb FILE] [-o guest.dtb]: check a "
                 "VM config and build its guest DTB without a board (a QEMU board's DTB comes "
                 "from QEMU itself). vm snapshot NAME [--as TAG]: pause the VM, copy its state "
                 "and RAM into free board RAM, let it go on; vm restore NAME [TAG]: put it back "
                 "(default: its newest snapshot); vm drop NAME TAG: free a snapshot's memory. vm save "
                 "NAME FILE: snapshot the VM and write it to a file (zero pages are not sent); "
                 "vm load FILE [--name NAME]: create and run the VM from such a file on a board of "
                 "the same profile (chunks the board holds already are not sent).")
def run_vm(ctx, args):
    from ...target import vms
    if args.action != "list" and not args.target:
        needs_file = args.action in ("create", "check", "load")
        raise ConfigError(f"vm {args.action}: needs a {'config file' if needs_file else 'VM name'}")
    if args.action == "check":
        return check(ctx, args)
    board = ctx.board()
    if args.action == "create":
        create(ctx, args.target, args.start)
    elif args.action == "list":
        entries = vms.vm_list(board)
        for e in entries:
            ctx.vm_names[e.id] = e.name
        ctx.emit([vm_json(e) for e in entries], vm_table(entries))
    elif args.action == "info":
        e = vms.find_vm(board, args.target)
        shares = vms.vm_shares(board, e.id)
        snaps = [s for s in vms.vm_snapshots(board) if s.vm == e.id]
        ctx.emit({**vm_json(e), "shared": [dataclasses.asdict(sh) for sh in shares],
                  "snapshots": [snapshot_json(s) for s in snaps]},
                 f"VM {e.id} {e.name}: {e.state}, {e.vcpus} vCPU(s)"
                 + (f", last stop: {e.stop_reason}" if e.stop_reason else "")
                 + "".join("\n" + share_line(sh) for sh in shares)
                 + "".join("\n" + snapshot_line(s) for s in snaps))
    elif args.action in ("snapshot", "restore", "drop"):
        snapshots(ctx, args)
    elif args.action in ("save", "load"):
        save_or_load(ctx, args)
    elif args.action in ("start", "stop", "destroy"):
        getattr(vms, f"{args.action}_vm")(board, args.target)
        ctx.emit({"action": args.action, "vm": args.target}, f"{args.action}: {args.target} done")
    elif args.action == "reset":
        note = remembered(ctx.url(), args.target)
        if not note.exists():
            raise ConfigError(f"no config remembered for VM {args.target!r}: vm create it again")
        vms.destroy_vm(board, args.target)
        with ctx.progress(f"VM {args.target}") as progress:       # unchanged chunks are skipped
            vm_id, config = vms.create_vm(board, note.read_text(), progress=progress)
        ctx.note_vm(vm_id, config.name, config.kernel)
        vms.start_vm(board, args.target)
        ctx.emit({"action": "reset", "vm": args.target}, f"reset: {args.target} reloaded and started")
    if not ctx.interactive:
        time.sleep(0.2)                                 # let a pending event be printed


def recall_vms(ctx) -> None:
    """Names and guest symbols of the VMs on the board, from the configs `vm create`
    remembered for this port: a fault in a VM made by an earlier run is symbolised too."""
    from ...target.vmconfig import load_vm_config
    from ...target.vms import vm_list
    for entry in vm_list(ctx.board()):
        ctx.vm_names[entry.id] = entry.name
        note = remembered(ctx.url(), entry.name)
        if note.exists():
            try:
                config = load_vm_config(note.read_text(), ctx.board().info().ram)
            except ConfigError:
                continue                    # edited or gone since: no symbols, no harm
            ctx.note_vm(entry.id, entry.name, config.kernel)


def attach(ctx, name: str) -> None:
    """The terminal on a guest's console until Ctrl-] (terminal.attach_console). When
    the line breaks or the board resets meanwhile, it says so, waits for the board
    (commands/reconnect.py) and attaches again to the VM of that name, if it is there."""
    from ...errors import LinkError
    from ...target.vms import find_vm
    from ..terminal import attach_console
    from .reconnect import lost, recover
    while True:
        board = ctx.board()
        vm = find_vm(board, name)
        ctx.vm_names[vm.id] = vm.name
        ctx.raw_terminal = True
        try:
            reason = attach_console(board, vm.id, vm.name, stamper=ctx.screen_stamper(),
                                    lost=lambda: lost(ctx))
        finally:
            ctx.raw_terminal = False
            board.on_console = ctx.on_console
        if reason is None:
            return
        if not recover(ctx, reason):
            raise LinkError(f"console {name}: {reason}; the stub is gone")


@command("console", "attach this terminal to a VM's console (Ctrl-] detaches)",
         lambda p: p.add_argument("name"), complete=("vm",),
         details="console NAME: raw keys go to the guest (Ctrl-C too); Ctrl-] detaches and "
                 "returns to the shell or the hvmon> prompt.")
def run_console(ctx, args):
    attach(ctx, args.name)
