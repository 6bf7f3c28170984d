"""Guest VMs: vm create|start|stop|reset|destroy|info|list, and console."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ...errors import ConfigError
from .core import command

ACTIONS = ("create", "start", "stop", "reset", "destroy", "info", "list")


def remembered(url: str, name: str) -> Path:
    """Where `vm create` noted a VM's config for this port, so `vm reset` can reload it."""
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "hvmon" / "vms"
    return base / hashlib.sha1(url.encode()).hexdigest()[:12] / name


def vm_table(entries) -> str:
    return "\n".join(f"{e.id}  {e.name:15} {e.state:8} {e.vcpus} vCPU  {e.stop_reason}".rstrip()
                     for e in entries)


def vm_json(e) -> dict:
    return {"id": e.id, "name": e.name, "state": e.state, "vcpus": e.vcpus,
            "stop_reason": e.stop_reason}


def _vm_args(p):
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("target", nargs="?", help="config file (create) or VM name")
    p.add_argument("--start", action="store_true", help="with create: start it too")


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


@command("vm", "VMs: create FILE.toml | start|stop|reset|destroy|info NAME | list", _vm_args,
         complete=(f"word:{','.join(ACTIONS)}", "vm"))
def run_vm(ctx, args):
    from ...target import vms
    if args.action != "list" and not args.target:
        raise ConfigError(f"vm {args.action}: needs a {'config file' if args.action == 'create' else 'VM name'}")
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
        ctx.emit(vm_json(e), f"VM {e.id} {e.name}: {e.state}, {e.vcpus} vCPU(s)"
                 + (f", last stop: {e.stop_reason}" if e.stop_reason else ""))
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
    """The terminal on a guest's console until Ctrl-] (terminal.attach_console)."""
    from ...target.vms import find_vm
    from ..terminal import attach_console
    board = ctx.board()
    vm = find_vm(board, name)
    ctx.vm_names[vm.id] = vm.name
    ctx.raw_terminal = True
    try:
        attach_console(board, vm.id, vm.name, stamper=ctx.screen_stamper())
    finally:
        ctx.raw_terminal = False
        board.on_console = ctx.on_console


@command("console", "attach this terminal to a VM's console (Ctrl-] detaches)",
         lambda p: p.add_argument("name"), complete=("vm",),
         details="console NAME: raw keys go to the guest (Ctrl-C too); Ctrl-] detaches and "
                 "returns to the shell or the hvmon> prompt.")
def run_console(ctx, args):
    attach(ctx, args.name)
