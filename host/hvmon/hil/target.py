"""One board under test: a QEMU board started here, or a board at a serial port. Brings
the stub up through U-Boot, keeps a framed Board on it, and recovers it when the stub
stops answering: the profile's [power] reset command, else QEMU's reset button."""

from __future__ import annotations

import time
from pathlib import Path

from .. import protocol as P
from ..bringup.board_profile import BoardProfile
from ..bringup.bring_up import BringupResult, bring_up
from ..bringup.qemu import QemuBoard
from ..errors import HvmonError
from ..target.board import Board
from ..target.channel_logs import ChannelLogs
from ..target.watch_feed import watch_recorder
from ..transport.expect import Expect
from ..transport.link import open_link
from .artifacts import LogRouter
from .power import has_power_control, press_reset

QEMU_LIFETIME = 1800     # seconds: no QEMU of a test run outlives a stuck run by much
ALIVE_TIMEOUT = 5.0      # seconds an INFO may take before the stub counts as gone


class BoardTarget:
    def __init__(self, profile: BoardProfile, folder: Path, url: str | None = None,
                 qemu_options: dict | None = None, say=None,
                 logs: ChannelLogs | None = None, framed_sink=None, watch=None):
        self.profile = profile
        self.folder = folder
        self.given_url = url                  # None: the plugin runs a QEMU board
        self.qemu_options = dict(qemu_options or {})
        self.say = say or (lambda text: None)
        folder.mkdir(parents=True, exist_ok=True)
        # Stamped text logs per channel (serial.log, events.log, stub.log, console-*.log),
        # the layout `hvmon --log-dir` writes too; TestCapture moves them per test.
        self.logs = logs or ChannelLogs(folder)
        self.serial_sink = self.logs.serial
        self.framed_sink = framed_sink or LogRouter(folder / "framed-rx.bin")
        self.watch = watch                    # the lock's WatchServer: `hvmon watch` copies
        self.qemu: QemuBoard | None = None
        self.port = None                      # the stub's line
        self.link: Expect | None = None
        # U-Boot's line when the stub has its own ([qemu] stub_serial), else None: then
        # U-Boot and the stub share self.port.
        self.uboot_port = None
        self.uboot_link: Expect | None = None
        self.board: Board | None = None
        self.bringup: BringupResult | None = None
        self.recoveries: list[str] = []
        self.on_ready = []                    # callables run after every (re)start in framed mode
        # QEMU's loader put guest images in RAM (preload.py); a guest that ran has written
        # into them (its .data and .bss), and a reset puts them back: cheaper than pushing.
        self.preloaded = any(str(a).startswith("loader,")
                             for a in self.qemu_options.get("extra_args", []))
        self.guest_ran = False
        self._qemu_starts = 0

    @property
    def is_qemu(self) -> bool:
        return self.given_url is None

    @property
    def url(self) -> str:
        return self.qemu.url if self.qemu else self.given_url

    # --- start and stop -------------------------------------------------------------

    def start(self, framed: bool = True) -> "BoardTarget":
        """Bring the stub up; framed=False leaves it at its text monitor (self.link)."""
        if self.is_qemu:
            self._start_qemu()
            self._open()
            self._bring_up(framed)
            return self
        self._open()
        if framed and self._hello():          # the stub is up already (a previous run)
            self.say(f"stub already answering on {self.url}")
            self._ready()
            return self
        self._bring_up(framed)
        return self

    def _start_qemu(self) -> None:
        self._qemu_starts += 1
        options = dict(self.qemu_options)
        self.qemu = QemuBoard(self.profile, log_path=self.folder / f"qemu-{self._qemu_starts}.log",
                              lifetime=options.pop("lifetime", QEMU_LIFETIME), **options)
        self.qemu.enable_qmp()                # the reset button recovery presses
        self.qemu.start()
        self.say(f"QEMU board pid {self.qemu.pid} on {self.qemu.url}")

    def _open(self) -> None:
        self._close_ports()
        self.port = open_link(self.url, baud=self.profile.uboot.baud)
        self.link = Expect(self.port, self.serial_sink)
        if self.qemu is not None and self.qemu.stub_port is not None:
            # Both lines log into serial.log: U-Boot's until booti, then the stub's.
            self.uboot_port, self.uboot_link = self.port, self.link
            self.port = open_link(self.qemu.stub_url, baud=self.profile.uboot.baud)
            self.link = Expect(self.port, self.serial_sink)

    def _close_ports(self) -> None:
        for port in (self.port, self.uboot_port):
            if port is not None:
                port.close()
        self.port = self.uboot_port = None
        self.link = self.uboot_link = None

    def _bring_up_stub(self, framed: bool) -> None:
        self.port.timeout = 0.05
        self.link.discard()
        if self.uboot_link is not None:
            self.uboot_port.timeout = 0.05
            self.uboot_link.discard()
            self.bringup = bring_up(self.uboot_link, self.profile, say=self.say,
                                    stub_link=self.link)
        else:
            self.bringup = bring_up(self.link, self.profile, say=self.say)
        self.say(f"stub {self.bringup.version} up on {self.bringup.board} in "
                 f"{self.bringup.seconds['total']:.1f} s")
        if framed:
            self.board = Board.attach(self.port, trace=self.framed_sink)
            self._record(self.board)
            self._ready()

    def _hello(self) -> bool:
        """A quick HELLO: does a stub answer on this port already? Board.attach would
        close the port on failure; here the port stays open for a bring-up."""
        self.port.timeout = 0.002
        board = Board(None, self.port)
        board.session = board._start_session(self.port, trace=self.framed_sink)
        try:
            board.session.hello(timeout=1.5, attempts=3)
            board.info(refresh=True)
        except HvmonError:
            board.session.close()
            return False
        self.board = board
        self._record(board)
        return True

    def _record(self, board: Board) -> None:
        self.logs.note(f"framed mode on {self.url}")
        board.recorders.append(self.logs.record)
        if self.watch is not None:
            board.recorders.append(watch_recorder(self.watch, lambda: self.logs.names,
                                                  lambda: self.logs.symbols))

    def _ready(self) -> None:
        for hook in self.on_ready:
            hook(self)

    def stop(self) -> None:
        if self.board is not None:
            self.board.session.close()
            self.board = None
        self._close_ports()
        if self.qemu is not None:
            self.qemu.stop()
        self.logs.close()
        self.framed_sink.close()

    # --- health and recovery --------------------------------------------------------

    def alive(self) -> bool:
        """True when the stub answers an INFO request within a few seconds."""
        if self.board is None:
            return False
        try:
            self.board.call(P.Command.INFO, timeout=ALIVE_TIMEOUT)
            return True
        except (HvmonError, TimeoutError) as exc:
            self.say(f"the stub does not answer: {exc or 'no response'}")
            return False

    def recover(self, reason: str) -> None:
        """Reset the board and bring the stub up again: the profile's [power] command
        if it has one (on QEMU as well, which then also gets its reset button), else
        QEMU's system_reset, else (QEMU gone) a new QEMU."""
        self.recoveries.append(reason)
        self.say(f"recovering the board: {reason}")
        if self.board is not None:
            self.board.session.close()
            self.board = None
        pressed = False
        if has_power_control(self.profile):
            press_reset(self.profile, self.url, self.say)
            pressed = True
        if self.is_qemu:
            if self.qemu.running():
                self.qemu.qmp("system_reset")
            else:
                self.qemu.stop()
                self._start_qemu()
                self._open()
            pressed = True
        if not pressed:
            raise HvmonError(f"the stub at {self.url} stopped answering and {self.profile.path} "
                             "has no [power] reset or power_cycle command to recover it")
        time.sleep(0.2)                       # let the reset reach the line before catching U-Boot
        self._bring_up(framed=True)

    # --- the power fixture ------------------------------------------------------------

    def forget_board(self) -> None:
        """The stub is about to go: end its session (requests would only time out)."""
        if self.board is not None:
            self.board.session.close()
            self.board = None

    def power_off(self) -> None:
        """After the [power] off command; a QEMU board's process is stopped."""
        self.forget_board()
        if self.is_qemu and self.qemu is not None and self.qemu.running():
            if self.port is not None:
                self.port.close()
                self.port = None
            self.qemu.stop()

    def power_on(self) -> None:
        """After the [power] on command; a QEMU board that is off starts again (at U-Boot)."""
        if self.is_qemu and (self.qemu is None or not self.qemu.running()):
            self._start_qemu()
            self._open()

    def press_qemu_reset(self) -> None:
        if self.is_qemu and self.qemu is not None and self.qemu.running():
            self.qemu.qmp("system_reset")

    def bring_up_again(self) -> None:
        """The stub through U-Boot again, after the power fixture switched the board."""
        if self.port is None:
            self._open()
        time.sleep(0.2)                       # let a reset reach the line first
        self._bring_up(framed=True)

    def guest_started(self) -> None:
        self.guest_ran = True

    def ensure_alive(self, guests: bool = False) -> None:
        """Recover a stub that does not answer; guests=True: the test will create guests,
        so restore preloaded guest images a guest of an earlier test ran in."""
        if not self.alive():
            self.recover("the stub stopped answering")
        elif guests and self.preloaded and self.guest_ran:
            self.recover("restore the preloaded guest images (an earlier guest ran in them)")

    def _bring_up(self, framed: bool) -> None:
        self.guest_ran = False
        self._bring_up_stub(framed)

