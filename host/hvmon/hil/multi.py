"""Several boards in one test (the `boards` fixture): boards(2) gives two QEMU boards
started for the test, or, with a pool, this worker's board and the next free pool
entries. Each board keeps its logs apart, in results/<test id>/board-<n>/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HvmonError
from .guests import VmFactory
from .pool import PortLock, load_pool
from .target import BoardTarget


@dataclass
class TestBoard:
    """One of a test's boards: .board (the framed Board), .vm(config) (guests destroyed
    after the test), .target (its BoardTarget: URL, QEMU, recovery), .folder (its logs)."""

    __test__ = False
    name: str
    target: BoardTarget
    vm: VmFactory
    folder: Path
    own: bool = True                   # started for this test (stopped after it)
    lock: PortLock | None = field(default=None, repr=False)

    @property
    def board(self):
        return self.target.board

    @property
    def url(self) -> str:
        return self.target.url


class BoardSet:
    """boards(count=2, **qemu_options) -> [TestBoard, ...]; close() undoes it all."""

    def __init__(self, rig, folder: Path, rootpath: Path, asked_qemu: dict):
        self.rig = rig
        self.folder = folder
        self.rootpath = rootpath
        self.asked_qemu = asked_qemu
        self.taken: list[TestBoard] = []

    def __call__(self, count: int = 2, **qemu_options) -> list[TestBoard]:
        if self.taken:
            raise HvmonError("boards(): call it once per test")
        settings = self.rig.settings
        try:
            if settings.is_qemu:
                for n in range(count):
                    options, lock = self.rig.qemu_options_for({**self.asked_qemu, **qemu_options})
                    self._start(n, BoardTarget(settings.profile, self.folder / f"board-{n}",
                                               qemu_options=options, say=self.rig.say), lock)
            else:
                self._from_pool(count)
        except BaseException:
            self.close()
            raise
        return list(self.taken)

    def _from_pool(self, count: int) -> None:
        """This worker's own board first, then every pool entry no one holds."""
        settings = self.rig.settings
        own = self.rig.get({})
        own.logs.switch(self.folder / "board-0")
        self._add(0, own, own=False)
        if count == 1:
            return
        if settings.pool is None:
            raise HvmonError(f"boards({count}): --hvmon-port gives one board; a pool "
                             "(--hvmon-pool) gives more")
        busy = []
        for entry in load_pool(settings.pool):
            if len(self.taken) == count:
                break
            if entry.port == settings.port:
                continue
            try:
                lock = PortLock(entry.port)
            except HvmonError as exc:
                busy.append(str(exc))
                continue
            from ..bringup.board_profile import load_profile
            profile = load_profile(entry.board) if entry.board else settings.profile
            self._start(len(self.taken), BoardTarget(profile, self.folder / f"board-{len(self.taken)}",
                                                     url=entry.port, say=self.rig.say), lock)
        if len(self.taken) < count:
            raise HvmonError(f"boards({count}): the pool {settings.pool} has only "
                             f"{len(self.taken)} free" + (": " + "; ".join(busy) if busy else ""))

    def _start(self, n: int, target: BoardTarget, lock) -> None:
        try:
            target.start()
        except BaseException:
            target.stop()
            if lock is not None:
                lock.release()
            raise
        self._add(n, target, own=True, lock=lock)

    def _add(self, n: int, target: BoardTarget, own: bool, lock=None) -> None:
        # target.logs names each guest's console file, as TestCapture does for `vm`.
        self.taken.append(TestBoard(f"board-{n}", target,
                                    VmFactory(target, target.logs, base=self.rootpath),
                                    self.folder / f"board-{n}", own, lock))

    def close(self) -> list[str]:
        problems = []
        for taken in reversed(self.taken):
            if taken.board is not None:
                problems += [f"{taken.name}: {p}" for p in taken.vm.cleanup()]
            if taken.own:
                taken.target.stop()
                if taken.lock is not None:
                    taken.lock.release()
            else:
                taken.target.logs.switch(self.rig.folder)
        self.taken.clear()
        return problems
