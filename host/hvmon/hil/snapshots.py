"""Restore-per-test: a module's guest booted once, snapshotted in board RAM when its
console shows a pattern, and put back before every test that asks for it (the `snapshot`
fixture, configured by `@pytest.mark.hvmon_snapshot`). A test then starts from the same
booted shell in a fraction of a second, whatever the test before it did to the guest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .. import protocol as P
from ..errors import HvmonError
from ..target.vms import drop_snapshot, find_vm, restore_vm, snapshot_vm, stop_vm, vm_list, \
    vm_snapshots
from .console import Console, ConsoleTimeout
from .guests import VmFactory, VmHandle

DEFAULT_PATTERN = r"/ # "
DEFAULT_TAG = "hil"
DEFAULT_TIMEOUT = 90.0   # seconds to the pattern: a Linux boot on a loaded 2-core machine
MARKER_KEYS = ("pattern", "tag", "vm", "timeout")
QUIET_ROUND_TRIPS = 2    # see drain_console()
SETTLE_QUIET_S = 0.2     # see let_output_finish(): the stub passes output on every 5 ms
SETTLE_LIMIT_S = 3.0     # a guest that never stops printing is stopped anyway
DRAIN_LIMIT_S = 10.0


class SnapshotNotTaken(AssertionError):
    """The module's guest never reached the state its snapshot is to hold."""


@dataclass(frozen=True)
class SnapshotSpec:
    """What a module's snapshot holds: `config` (a VM TOML file, or its keys as a dict)
    booted until its console matches `pattern` (within `timeout` seconds), snapshotted
    as `tag`."""
    config: Path | dict
    pattern: str
    tag: str
    timeout: float

    @property
    def source(self) -> str:
        return str(self.config) if isinstance(self.config, Path) else "a dict"


def spec_from_marker(kwargs: dict, default_vm: Path | None, base: Path) -> SnapshotSpec:
    """The marker's keywords, checked; ValueError names what is wrong."""
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise ValueError(f"hvmon_snapshot: unknown keyword(s) {unknown}; known: "
                         f"{', '.join(MARKER_KEYS)}")
    vm = kwargs.get("vm")
    if isinstance(vm, dict):
        config = vm
    elif vm is not None:
        config = base / vm
    else:
        config = default_vm
    if config is None:
        raise ValueError("hvmon_snapshot: no guest to boot: give vm=\"...toml\" or --hvmon-vm "
                         "(there is no linux.toml beside the board profile)")
    pattern = kwargs.get("pattern", DEFAULT_PATTERN)
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"hvmon_snapshot: pattern must be a non-empty regular expression "
                         f"string, not {pattern!r}")
    timeout = kwargs.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"hvmon_snapshot: timeout must be a positive number of seconds, "
                         f"not {timeout!r}")
    return SnapshotSpec(config if isinstance(config, dict) else Path(config), pattern, str(kwargs.get("tag", DEFAULT_TAG)), float(timeout))


class RestoredGuest:
    """What a test gets: the guest just restored. `console` reads only what the guest
    printed after the restore; `restore()` goes back again in the middle of a test."""

    def __init__(self, keeper: "ModuleSnapshot", handle: VmHandle):
        self._keeper = keeper
        self.vm = handle
        self.board = handle.board
        self.name = handle.name
        self.id = handle.id
        self.tag = keeper.spec.tag
        self.console = handle.console

    def restore(self) -> None:
        self.vm = self._keeper.restore()
        self.console = self.vm.console


class ModuleSnapshot:
    """One snapshot guest per module (per spec: a test whose marker asks for another one
    gets it, and the first is dropped). Created on the first test that asks for it, so
    its boot counts against that test's budget and lands in that test's logs."""

    def __init__(self, target, say=lambda text: None, base: Path | None = None):
        self.target = target
        self.base = base                      # a dict config's relative files are taken from here
        self.say = say
        self.spec: SnapshotSpec | None = None
        self.board = None                     # the Board the snapshot was taken on
        self.handle: VmHandle | None = None
        self.failure: SnapshotNotTaken | None = None
        self.restores = 0

    def guest(self, spec: SnapshotSpec, capture=None) -> RestoredGuest:
        if spec != self.spec:
            self._close_noting_problems()
            self.spec, self.failure = spec, None
        if self.failure is not None:
            # The boot already failed for this module: every test that needs it says so
            # at once, instead of booting and waiting out the timeout again.
            raise SnapshotNotTaken(f"as for an earlier test of this module: {self.failure}")
        if not self._still_there():
            if self.board is not None:
                self.say(f"snapshot {spec.tag}: gone since it was taken (the board was brought "
                         "up again, or the VM destroyed); booting the guest again")
            self._close_noting_problems()
            self._take(capture)
        handle = self.restore()
        if capture is not None:
            capture.name_console(handle.id, handle.name)
        return RestoredGuest(self, handle)

    def _still_there(self) -> bool:
        """The snapshot was taken on the board the plugin has now, and it and its VM are
        still on it (a test may have destroyed the VM, which drops its snapshots)."""
        if self.board is None or self.board is not self.target.board:
            return False
        return any(s.vm == self.handle.id and s.tag == self.spec.tag
                   for s in vm_snapshots(self.board))

    def _take(self, capture) -> None:
        spec = self.spec
        self.handle = self.board = None
        # A guest from preloaded images needs them as QEMU's loader put them: a reset
        # first if an earlier guest of this board ran in them (BoardTarget.ensure_alive).
        self.target.ensure_alive(guests=True)
        factory = VmFactory(self.target, capture, base=self.base)
        handle = factory(spec.config)
        factory.handles.clear()               # this VM outlives the test: close() owns it
        self.handle = handle
        try:
            handle.console.expect(spec.pattern, timeout=spec.timeout)
        except ConsoleTimeout as exc:
            self.failure = SnapshotNotTaken(
                f"hvmon_snapshot: the console of {handle.name} ({spec.source}) never showed "
                f"the pattern {spec.pattern!r} within {spec.timeout:g} s, so no snapshot was "
                f"taken and no test can start from it.\n{exc}")
            raise self.failure from None
        taken = snapshot_vm(self.target.board, handle.name, spec.tag)
        self.board = self.target.board
        self.say(f"snapshot {spec.tag} of {handle.name} at {spec.pattern!r}: "
                 f"{taken.snapshot.size >> 20} MiB at {taken.snapshot.pa:#x}, the guest paused "
                 f"{taken.paused_us / 1e6:.2f} s")

    def restore(self) -> VmHandle:
        """Back to the snapshot; a new handle whose console starts after the restore."""
        board, handle = self.board, self.handle
        if find_vm(board, handle.name).state == "running":
            let_output_finish(board, handle.id)
            stop_vm(board, handle.name)
        drain_console(board, handle.id)
        events = len(board.events)
        restore_vm(board, handle.name, self.spec.tag)
        self.restores += 1
        fresh = VmHandle(board, handle.id, handle.name, handle.config,
                         Console(board, handle.id, handle.name), events)
        fresh.on_start = self.target.guest_started
        self.handle = fresh
        return fresh

    def _close_noting_problems(self) -> None:
        for problem in self.close():
            self.say(f"snapshot {self.spec.tag}: {problem}")

    def close(self) -> list[str]:
        """Drop the snapshot and destroy its VM; the problems met, for a warning."""
        problems = []
        board, handle, spec, restores = self.board, self.handle, self.spec, self.restores
        self.board = self.handle = None
        self.restores = 0
        if handle is None or handle.board is not self.target.board:
            return problems                   # nothing made, or the board was reset: all gone
        try:
            if board is not None:
                drop_snapshot(board, handle.name, spec.tag)
            handle.destroy()
            left = [s.tag for s in vm_snapshots(handle.board) if s.vm == handle.id]
            if left or any(e.name == handle.name for e in vm_list(handle.board)):
                problems.append(f"VM {handle.name}: still there after its module "
                                f"(snapshots {left})")
            elif board is None:
                self.say(f"{handle.name}: no snapshot was taken; its VM destroyed")
            else:
                self.say(f"snapshot {spec.tag} of {handle.name} dropped, its VM destroyed, "
                         f"after {restores} restore(s)")
        except (HvmonError, TimeoutError) as exc:
            problems.append(f"VM {handle.name}, snapshot {spec.tag}: {exc}")
        return problems


def let_output_finish(board, vm: int) -> None:
    """Before a stop: wait until the guest has printed nothing for SETTLE_QUIET_S (at most
    SETTLE_LIMIT_S), so what the last test made it print (a panic's backtrace) ends up
    whole in that test's log instead of being cut off by the stop. Quiet is counted from
    the last console bytes' arrival, so a guest that has been silent since the test's
    last answer costs no wait. (A stop that lands while the guest prints used to leave
    the restored guest deaf: the stub's fault, fixed in firmware/vmm/vcpu.c handle_kicks
    and tested without this wait by tests/integration/test_snapshots.py.)"""
    deadline = time.monotonic() + SETTLE_LIMIT_S
    arrived = board.console_arrived
    while time.monotonic() < deadline:
        last = arrived.get(vm)
        if last is None or time.monotonic() - last >= SETTLE_QUIET_S:
            return
        time.sleep(0.02)


def drain_console(board, vm: int) -> None:
    """Wait until console output the stopped guest wrote before has all arrived.

    The stub answers a request before it passes on guest output still in a vCPU's ring
    (its main loop serves requests, then drains the rings: firmware/link/session.c
    session_run), so output of the state being thrown away could arrive after the
    restore's answer and be read as the restored guest's. The guest is stopped, so it
    writes nothing more: once round trips to the stub bring no more of its output, the
    rest has arrived. Two in a row, since a full send window can hold output back behind
    one answer."""
    quiet, deadline = 0, time.monotonic() + DRAIN_LIMIT_S
    while quiet < QUIET_ROUND_TRIPS and time.monotonic() < deadline:
        before = len(board.consoles.get(vm, b""))
        board.call(P.Command.VM_LIST)
        quiet = quiet + 1 if len(board.consoles.get(vm, b"")) == before else 0
