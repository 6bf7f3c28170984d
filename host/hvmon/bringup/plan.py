"""Scripted bring-up: `hvmon up PLAN.toml`.

A plan names the board profile, how to reach the stub (already running, or through
U-Boot's loady), the VMs to create and start, and what to wait for on each console:

    board = "qemu-virt"
    reach = "uboot"              # "running": the stub must answer already; "off": the
                                 # board is off, its profile's [power] on starts it
    port = "/dev/ttyUSB0"        # optional: without it a QEMU board is started (qemu boards)
    console = "linux"            # optional: attach the terminal to this VM at the end
    [qemu]                       # optional, only for a QEMU board `up` starts itself
    smp = 2
    memory = "1G"
    preload = true               # QEMU's loader places the VMs' kernel and initrd in RAM
    [[vm]]
    config = "linux.toml"        # relative to the plan
    start = true
    wait_for = "/ # "            # a regex on the guest's console
    timeout = 120

Re-running a plan against a board that is up skips what is unchanged: a VM that is
running, was created by a plan on this very boot of the stub (same boot id) and whose
config, kernel, initrd and DTB files hash the same as then, is left alone. Anything else
is (re)created, and the push skips every 64 KiB chunk whose CRC on the board matches.
What `up` did for each boot id is kept in $XDG_STATE_HOME/hvmon/up/.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, LinkError, StepTimeout
from ..target.vmconfig import load_vm_config
from ..tomlfile import read_toml
from .preload import preload_args

REACH = ("running", "uboot", "off")
TOP_KEYS = {"board", "port", "reach", "console", "qemu", "vm"}
VM_KEYS = {"config", "start", "wait_for", "timeout"}
QEMU_KEYS = {"smp", "memory", "preload"}


def _read_vm_config(path: Path):
    """A VM config checked for everything but its place in a board's RAM and physical
    address range, which only the board's own map (INFO) can settle when the VM is
    created."""
    from ..target.board import Range
    return load_vm_config(path, ram=(Range(0, 1 << 48, "any"),), pa_bits=48)


class PlanError(ConfigError):
    """A plan file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class PlanVm:
    config: Path
    name: str
    start: bool = True
    wait_for: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class PlanQemu:
    smp: int | None = None
    memory: str | None = None
    preload: bool = False


@dataclass(frozen=True)
class Plan:
    path: Path
    board: str
    port: str | None
    reach: str
    vms: list[PlanVm]
    console: str | None = None
    qemu: PlanQemu = PlanQemu()


@dataclass
class PlanReport:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)    # running and unchanged
    replaced: list[str] = field(default_factory=list)   # existed, but changed or stopped
    started: list[str] = field(default_factory=list)
    waited: dict[str, float] = field(default_factory=dict)
    vm_ids: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"created": self.created, "skipped": self.skipped, "replaced": self.replaced,
                "started": self.started, "waited": self.waited, "vm_ids": self.vm_ids,
                "seconds": round(self.seconds, 3)}


def _err(path: Path, key: str, why: str) -> PlanError:
    return PlanError(f"{path}: {key}: {why}")


def _unknown(path: Path, prefix: str, table: dict, allowed: set) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _err(path, f"{prefix}{extra[0]}", f"unknown key (known: {', '.join(sorted(allowed))})")


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan completely (VM configs included) before anything is done."""
    path = Path(path)
    data = read_toml(path, PlanError)
    _unknown(path, "", data, TOP_KEYS)
    board = data.get("board")
    if not isinstance(board, str) or not board:
        raise _err(path, "board", "missing: the board profile's name (boards/<name>/board.toml)")
    port = data.get("port")
    if port is not None and (not isinstance(port, str) or not port):
        raise _err(path, "port", "must be a pyserial URL or device")
    reach = data.get("reach", "uboot")
    if reach not in REACH:
        raise _err(path, "reach", f"must be one of {', '.join(REACH)}, not {reach!r}")

    qemu_table = data.get("qemu", {})
    if not isinstance(qemu_table, dict):
        raise _err(path, "qemu", "must be a table")
    _unknown(path, "qemu.", qemu_table, QEMU_KEYS)
    smp = qemu_table.get("smp")
    if smp is not None and (isinstance(smp, bool) or not isinstance(smp, int) or smp < 1):
        raise _err(path, "qemu.smp", "must be an integer >= 1")
    memory = qemu_table.get("memory")
    if memory is not None and not isinstance(memory, str):
        raise _err(path, "qemu.memory", "must be a string like \"1G\" (QEMU's -m)")
    preload = qemu_table.get("preload", False)
    if not isinstance(preload, bool):
        raise _err(path, "qemu.preload", "must be true or false")

    entries = data.get("vm", [])
    if not isinstance(entries, list):
        raise _err(path, "vm", "must be an array of [[vm]] tables")
    vms, names = [], set()
    for i, entry in enumerate(entries):
        key = f"vm[{i}]"
        if not isinstance(entry, dict):
            raise _err(path, key, "must be a table")
        _unknown(path, f"{key}.", entry, VM_KEYS)
        config = entry.get("config")
        if not isinstance(config, str) or not config:
            raise _err(path, f"{key}.config", "missing: the VM config file (relative to the plan)")
        config_path = (path.parent / config).resolve()
        if not config_path.is_file():
            raise _err(path, f"{key}.config", f"no such file {config_path}")
        vm_config = _read_vm_config(config_path)     # its own errors name its file and key
        if vm_config.name in names:
            raise _err(path, f"{key}.config", f"a second VM named {vm_config.name!r}")
        names.add(vm_config.name)
        start = entry.get("start", True)
        if not isinstance(start, bool):
            raise _err(path, f"{key}.start", "must be true or false")
        wait_for = entry.get("wait_for")
        if wait_for is not None:
            if not isinstance(wait_for, str) or not wait_for:
                raise _err(path, f"{key}.wait_for", "must be a regular expression string")
            try:
                re.compile(wait_for.encode())
            except re.error as exc:
                raise _err(path, f"{key}.wait_for", f"bad regular expression: {exc}") from None
            if not start:
                raise _err(path, f"{key}.wait_for", "needs start = true: a VM not started prints nothing")
        timeout = entry.get("timeout", 60.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise _err(path, f"{key}.timeout", "must be a positive number of seconds")
        vms.append(PlanVm(config_path, vm_config.name, start, wait_for, float(timeout)))

    console = data.get("console")
    if console is not None and console not in names:
        raise _err(path, "console", f"names no VM of this plan (have: {', '.join(sorted(names)) or 'none'})")
    return Plan(path, board, port, reach, vms, console, PlanQemu(smp, memory, preload))


# --- reaching the board ------------------------------------------------------------------

@dataclass
class Reached:
    board: object                   # hvmon.board.Board, framed
    port: object                    # its serial port
    url: str
    qemu: object | None = None      # the QemuBoard `up` started, to be stopped by its caller
    brought_up: bool = False


def start_qemu(plan: Plan, profile, smp=None, memory=None, log_path=None, lifetime=None):
    from .qemu import QemuBoard
    if profile.qemu is None:
        raise _err(plan.path, "port", f"missing, and board {plan.board} cannot be started in QEMU "
                                      "(its profile has no [qemu] section)")
    extra = []
    if plan.qemu.preload:
        for vm in plan.vms:
            try:
                extra += preload_args(vm.config)
            except ConfigError:
                pass        # memory without fixed addresses: nothing to place, all is pushed
    board = QemuBoard(profile, memory=memory or plan.qemu.memory, smp=smp or plan.qemu.smp,
                      extra_args=extra, log_path=log_path, lifetime=lifetime)
    board.start()
    return board


def reach_board(plan: Plan, url: str | None = None, log=print, image: Path | None = None,
                qemu_options: dict | None = None, baud: int | None = None,
                serial_log=None, stub_url: str | None = None) -> Reached:
    """Open the plan's line (or start its QEMU board) and return a framed Board. With
    reach = "uboot" a line where the stub does not answer is taken to be at U-Boot and
    the stub is loaded through loady first. `serial_log` (a binary sink) gets the text
    the line carries during a bring-up. stub_url: the stub's own line on a board given
    by URL whose stub does not talk on U-Boot's (`up --stub-port`): the stub is looked
    for there, and awaited there after booti."""
    from ..target.board import Board
    from ..transport.expect import Expect
    from ..transport.link import open_link
    from .board_profile import load_profile
    from .bring_up import bring_up
    profile = load_profile(plan.board)
    url = url or plan.port
    qemu = None
    if url is None and stub_url is not None:
        raise _err(plan.path, "port", "missing: --stub-port needs U-Boot's line too (-p PORT or "
                                      "the plan's port); a QEMU board `up` starts itself finds "
                                      "its stub's line by itself")
    if url is None:
        qemu = start_qemu(plan, profile, **(qemu_options or {}))
        url = qemu.url
        log(f"QEMU {profile.name} running as pid {qemu.pid}, serial on {url}")
    baud = baud or profile.uboot.baud
    try:
        if qemu is None and plan.reach == "off":
            if stub_url is not None:
                raise _err(plan.path, "reach", "\"off\" with the stub on a line of its own "
                                               "(--stub-port) is not supported: power the board "
                                               "on, then `up` with reach = \"uboot\"")
            return _power_on_and_bring_up(plan, profile, url, baud, log, image, serial_log)
        if qemu is not None and qemu.stub_port is not None:
            stub_url = qemu.stub_url
        if qemu is None:
            answer_url = stub_url or url
            try:
                board = Board.attach(open_link(answer_url, baud))
                log(f"the stub answers on {answer_url}: {board.info().version} on {board.info().board}")
                if board.info().board != profile.name:
                    board.close()
                    raise _err(plan.path, "board", f"{plan.board}, but the stub on {answer_url} runs "
                                                   f"on {board.info().board}")
                return Reached(board, board.port, answer_url)
            except StepTimeout:
                if plan.reach == "running":
                    raise StepTimeout("reach the stub", f"answer from the stub on {answer_url} (the "
                                      "plan says reach = \"running\")", 5.0, "") from None
                log(f"no stub answers on {answer_url}: bringing it up through U-Boot"
                    + (f" on {url}" if stub_url else ""))
        port = open_link(url, baud)
        stub_port = None
        try:
            if stub_url is not None:
                # The stub has a line of its own: U-Boot's ends its part at booti.
                stub_port = open_link(stub_url, baud)
                log(f"the stub's own line: {stub_url}")
            result = bring_up(Expect(port, serial_log), profile, image=image, say=log,
                              stub_link=Expect(stub_port, serial_log) if stub_port else None)
            log(f"stub {result.version} up on {result.board} in {result.seconds['total']:.2f} s")
            if stub_port is not None:
                port.close()
                port, url = stub_port, stub_url
            board = Board.attach(port)
        except BaseException:
            port.close()
            if stub_port is not None:
                stub_port.close()
            raise
        return Reached(board, port, url, qemu, brought_up=True)
    except BaseException:
        if qemu is not None:
            qemu.stop()
        raise


def _power_on_and_bring_up(plan: Plan, profile, url: str, baud: int, log, image,
                           serial_log) -> Reached:
    """reach = "off": the line is opened first where it can be (a USB adapter is there
    while the board is off, and a board whose U-Boot waits no time must be caught from
    its first byte); a line that only exists once the board is on (a console server, a
    QEMU board) is opened when it appears."""
    from ..target.board import Board
    from ..transport.expect import Expect
    from ..transport.link import open_link
    from .bring_up import bring_up
    from .power import power
    try:
        port = open_link(url, baud)
    except LinkError:
        port = None
    power(profile, "on", url, say=log)
    deadline = time.monotonic() + profile.power.timeout
    while port is None:
        try:
            port = open_link(url, baud)
        except LinkError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        result = bring_up(Expect(port, serial_log), profile, image=image, say=log)
        log(f"stub {result.version} up on {result.board} in {result.seconds['total']:.2f} s")
        board = Board.attach(port)
    except BaseException:
        port.close()
        raise
    return Reached(board, port, url, brought_up=True)


# --- applying it ---------------------------------------------------------------------------

def _state_file(boot_id: int) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "hvmon" / "up" / f"{boot_id:08x}.json"


def fingerprint(config_path: Path) -> str:
    """What makes a VM the same VM: its config and the bytes of every file it loads."""
    config = _read_vm_config(config_path)
    digest = hashlib.sha256(config_path.read_bytes())
    for part in (config.kernel, config.initrd, config.dtb):
        if part is not None:
            digest.update(str(part).encode() + b"\0")
            digest.update(hashlib.sha256(Path(part).read_bytes()).digest())
    return digest.hexdigest()


def wait_console(board, vm: int, name: str, pattern: str, timeout: float) -> float:
    regex = re.compile(pattern.encode())
    started = time.monotonic()
    while True:
        if regex.search(bytes(board.consoles.get(vm, b""))):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            tail = bytes(board.consoles.get(vm, b""))[-400:].decode(errors="replace")
            raise StepTimeout(f"wait for {name}'s console", repr(pattern), timeout, tail or "(nothing)")
        if board.session.failure:
            raise board.session.failure
        time.sleep(0.05)


def apply_plan(plan: Plan, board, log=print, progress_bar=None, on_created=None) -> PlanReport:
    """Bring the board to the plan's state; unchanged running VMs are skipped.
    progress_bar(label) -> a context manager giving a progress callback (hvmon.ui.progress)
    for each VM's push; on_created(vm_id, name, config) lets a caller note a VM."""
    import contextlib
    from ..target import vms
    if progress_bar is None:
        progress_bar = lambda label: contextlib.nullcontext(None)  # noqa: E731
    started = time.monotonic()
    report = PlanReport()
    boot_id = board.info().boot_id
    state_path = _state_file(boot_id)
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    existing = {e.name: e for e in vms.vm_list(board)}
    for vm in plan.vms:
        print_name = vm.name
        fp = fingerprint(vm.config)
        entry = existing.get(vm.name)
        record = state.get(vm.name, {})
        same = entry is not None and record.get("fingerprint") == fp and record.get("vm") == entry.id
        if same and entry.state == "running" and vm.start:
            log(f"{print_name}: running and unchanged since it was created on this boot: skipped")
            report.skipped.append(vm.name)
            report.vm_ids[vm.name] = entry.id
            if on_created:
                on_created(entry.id, vm.name, _read_vm_config(vm.config))
            continue
        if entry is not None:
            why = ("stopped" if entry.state == "stopped" else "not started" if entry.state == "created"
                   else "changed") if same else "changed, or not created by a plan on this boot"
            log(f"{print_name}: exists ({entry.state}; {why}): destroying and creating it again")
            vms.destroy_vm(board, vm.name)
            report.replaced.append(vm.name)
        log(f"{print_name}: creating from {vm.config}")
        with progress_bar(f"VM {vm.name}") as progress:
            vm_id, config = vms.create_vm(board, vm.config, progress=progress)
        report.created.append(vm.name)
        report.vm_ids[vm.name] = vm_id
        if on_created:
            on_created(vm_id, vm.name, config)
        state[vm.name] = {"fingerprint": fp, "vm": vm_id}
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(state, indent=1))
        if vm.start:
            vms.start_vm(board, vm.name)
            report.started.append(vm.name)
            log(f"{print_name}: started")
            if vm.wait_for:
                seconds = wait_console(board, vm_id, vm.name, vm.wait_for, vm.timeout)
                report.waited[vm.name] = round(seconds, 3)
                log(f"{print_name}: console showed {vm.wait_for!r} after {seconds:.2f} s")
    report.seconds = time.monotonic() - started
    return report
