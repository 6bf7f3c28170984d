"""Guests made for one test: created from a TOML file or a dict, started, and stopped
and destroyed when the test ends, whether it passed or not."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import protocol as P
from ..errors import HvmonError
from ..target.vmconfig import VmConfig
from ..target.vms import (VmStopped, create_vm, destroy_vm, find_vm, parse_vm_stopped, start_vm,
                          stop_vm, vm_list)
from .console import Console


FILE_KEYS = ("kernel", "initrd", "dtb")


@dataclass
class VmHandle:
    board: object
    id: int
    name: str
    config: VmConfig
    console: Console
    events_start: int = 0                 # board.events before this VM: ids are reused

    @property
    def state(self) -> str:
        return find_vm(self.board, self.name).state

    def start(self) -> None:
        start_vm(self.board, self.name)
        self.on_start()

    def on_start(self) -> None:
        pass

    def stop(self) -> None:
        stop_vm(self.board, self.name)

    def destroy(self) -> None:
        """Stop it if it runs, then destroy it; a VM already gone is fine."""
        entry = next((e for e in vm_list(self.board) if e.name == self.name), None)
        if entry is None:
            return
        if entry.state == "running":
            stop_vm(self.board, self.name)
        destroy_vm(self.board, self.name)

    def wait_stopped(self, timeout: float = 30.0) -> VmStopped:
        """The VM_STOPPED event of this VM (guest power-off, reset, fault or stop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event, payload in list(self.board.events)[self.events_start:]:
                if event == P.Event.VM_STOPPED:
                    stopped = parse_vm_stopped(payload)
                    if stopped.vm == self.id:
                        return stopped
            time.sleep(0.05)
        raise AssertionError(f"VM {self.id} {self.name}: no VM_STOPPED event within {timeout:g} s")


class VmFactory:
    """vm(config, start=True) -> VmHandle; cleanup() undoes every VM it made."""

    def __init__(self, target, capture=None, base: Path | None = None):
        self.target = target
        self.capture = capture
        self.base = Path(base or Path.cwd())
        self.handles: list[VmHandle] = []

    def __call__(self, config: str | Path | Mapping, start: bool = True, progress=None) -> VmHandle:
        """A dict holds the keys of a VM TOML file; its relative file paths are taken from
        `base` (the pytest rootdir), a TOML file's from the file's folder."""
        if isinstance(config, Mapping):
            config = {key: str(self.base / value) if key in FILE_KEYS and isinstance(value, str)
                      else value for key, value in config.items()}
        board = self.target.board
        events = len(board.events)
        vm_id, parsed = create_vm(board, config, progress=progress)
        handle = VmHandle(board, vm_id, parsed.name, parsed, Console(board, vm_id, parsed.name),
                          events)
        handle.on_start = self.target.guest_started
        self.handles.append(handle)
        if self.capture is not None:
            self.capture.name_console(vm_id, parsed.name)
        if start:
            handle.start()
        return handle

    def cleanup(self) -> list[str]:
        """Stop (if running) and destroy every VM this factory made; return the problems
        met, so a dead stub shows up in the report without hiding the test's own error."""
        problems = []
        for handle in reversed(self.handles):
            if handle.board is not self.target.board:
                continue                      # the board was reset under the test: VM gone
            try:
                handle.destroy()
            except (HvmonError, TimeoutError) as exc:
                problems.append(f"VM {handle.name}: {exc}")
        self.handles.clear()
        return problems
