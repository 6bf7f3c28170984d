"""HvmonDriver: the hvmon stub on a labgrid place's serial line.

It binds the serial resource itself (a NetworkSerialPort from an exporter's ser2net, or a
local SerialPort), not labgrid's SerialDriver: hvmon's framed session needs the line to
itself, with its own reader thread, and a SerialDriver holding the same RFC 2217
connection would read bytes meant for it. Everything it does is hvmon's own: the bring-up
through U-Boot (bringup/bring_up.py) and the framed Board (target/board.py)."""

from __future__ import annotations

from pathlib import Path

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory

from .. import protocol as P
from ..bringup.board_profile import BoardProfile, load_profile
from ..bringup.bring_up import BringupResult, bring_up
from ..bringup.uboot import UBoot
from ..errors import HvmonError
from ..target.board import Board
from ..transport.expect import Expect
from ..transport.link import open_link
from .serial_url import serial_url

HELLO_TIMEOUT = 1.5      # seconds a HELLO may take before no stub counts as answering


@target_factory.reg_driver
@attr.s(eq=False)
class HvmonDriver(Driver):
    """Environment YAML: `HvmonDriver: {board_profile: rk3588}` (a profile name or a
    board.toml path; default qemu-virt), optionally `image:` (the stub's image; default
    the profile's build) and `prompt_timeout:` (seconds to catch U-Boot)."""

    bindings = {"port": {"SerialPort", "NetworkSerialPort"}}

    board_profile = attr.ib(default="qemu-virt", validator=attr.validators.instance_of(str))
    image = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    prompt_timeout = attr.ib(default=60.0, converter=float)

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.profile: BoardProfile = load_profile(self._resolve(self.board_profile)
                                                  if self.board_profile.endswith(".toml")
                                                  else self.board_profile)
        self.url: str | None = None
        self.line = None              # the open serial port
        self.link: Expect | None = None
        self.board: Board | None = None
        self.bringup: BringupResult | None = None

    def _resolve(self, path: str) -> str:
        """A path from the environment YAML, relative to that file (labgrid's rule)."""
        env = getattr(self.target, "env", None)
        return env.config.resolve_path(path) if env is not None else path

    # --- labgrid's life cycle ------------------------------------------------------------

    def on_activate(self):
        self.url = serial_url(self.port)
        self.line = open_link(self.url, baud=getattr(self.port, "speed", None) or self.profile.uboot.baud)
        self.link = Expect(self.line)
        self.logger.info("hvmon on %s (board profile %s)", self.url, self.profile.name)

    def on_deactivate(self):
        self.forget_board()
        if self.line is not None:
            self.line.close()
        self.line = self.link = None

    def get_export_vars(self):
        return {"url": serial_url(self.port), "board": self.profile.name}

    # --- what the strategy and tests call -----------------------------------------------

    @Driver.check_active
    def stub_answers(self) -> bool:
        """True (and self.board set) when a stub in framed mode or at its text monitor
        answers a HELLO: it is up already, from an earlier run or another client."""
        if self.board is not None:
            return True
        self.line.timeout = 0.002
        board = Board(None, self.line)
        board.session = board._start_session(self.line)
        try:
            board.session.hello(timeout=HELLO_TIMEOUT, attempts=3)
            board.info(refresh=True)
        except HvmonError:
            board.session.close()
            self._text_mode()
            return False
        self.board = board
        return True

    @Driver.check_active
    def at_uboot(self) -> None:
        """Catch U-Boot's prompt (the key it waits for, sent until the prompt shows)."""
        self.forget_board()
        self._text_mode()
        UBoot(self.link, self.profile.uboot).catch_prompt(self.prompt_timeout)

    @Driver.check_active
    def bring_up(self) -> Board:
        """From U-Boot's prompt: loady the stub, check its CRC, boot it, framed mode."""
        self.forget_board()
        self._text_mode()
        image = Path(self._resolve(self.image)) if self.image else None
        self.bringup = bring_up(self.link, self.profile, image=image,
                                prompt_timeout=self.prompt_timeout,
                                say=lambda text: self.logger.info("%s", text))
        self.board = Board.attach(self.line)
        return self.board

    @Driver.check_active
    def reset_stub(self) -> None:
        """Ask the stub to reset the board (PSCI SYSTEM_RESET): U-Boot comes next."""
        if self.board is None and not self.stub_answers():
            raise HvmonError(f"no stub answers on {self.url}: nothing to reset")
        self.board.call(P.Command.RESET)
        self.forget_board()

    def forget_board(self) -> None:
        """End the framed session, keep the line open (the port itself is labgrid's)."""
        if self.board is not None:
            self.board.session.close()
            self.board = None

    def _text_mode(self) -> None:
        self.line.timeout = 0.05
        self.link.discard()
