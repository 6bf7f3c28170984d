"""HvmonStrategy: a board in a labgrid place taken through off -> uboot -> stub -> vm.

    off     the place's power switched off (labgrid's PowerProtocol driver if the place
            has one, else the board profile's [power] off command)
    uboot   U-Boot at its prompt: power cycled (or on, from off) where there is power,
            else the stub asked to reset the board, else U-Boot caught where it is
    stub    the stub brought up through U-Boot and in framed mode (a stub that already
            answers is kept); from vm, the strategy's guest is destroyed
    vm      the guest of `vm_config` (default: linux.toml beside the board profile)
            created, started and its console showing `wait_for`; `vm_id` and `vm_name`
            name it (hvmon.hil.Console(strategy.hvmon.board, strategy.vm_id) types into it)
"""

from __future__ import annotations

import enum
from pathlib import Path

import attr
from labgrid.factory import target_factory
from labgrid.strategy.common import Strategy, StrategyError, never_retry

from ..bringup.plan import wait_console
from ..bringup.power import has_power_control, power
from ..errors import ConfigError
from ..target import vms
from ..tomlfile import read_toml


class Status(enum.Enum):
    unknown = 0
    off = 1
    uboot = 2
    stub = 3
    vm = 4


@target_factory.reg_driver
@attr.s(eq=False)
class HvmonStrategy(Strategy):
    bindings = {"hvmon": "HvmonDriver", "power": {"PowerProtocol", None}}

    status = attr.ib(default=Status.unknown)
    vm_config = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    wait_for = attr.ib(default=r"/ # ", validator=attr.validators.instance_of(str))
    boot_timeout = attr.ib(default=120.0, converter=float)

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.vm_id: int | None = None
        self.vm_name: str | None = None

    @never_retry
    def transition(self, status):
        if not isinstance(status, Status):
            try:
                status = Status[status]
            except KeyError:
                raise StrategyError(f"no state {status!r} (states: "
                                    f"{', '.join(s.name for s in Status if s.value)})") from None
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            return
        getattr(self, f"_to_{status.name}")()
        self.status = status

    @never_retry
    def force(self, status):
        """Take the board to be in `status` already (during development)."""
        if not isinstance(status, Status):
            status = Status[status]
        if status in (Status.stub, Status.vm):
            self.target.activate(self.hvmon)
            if not self.hvmon.stub_answers():
                raise StrategyError(f"forced to {status.name}, but no stub answers on {self.hvmon.url}")
        self.status = status

    # --- the transitions ---------------------------------------------------------------

    def _to_off(self) -> None:
        self.target.deactivate(self.hvmon)
        self._forget_vm()
        self._switch("off")

    def _to_uboot(self) -> None:
        was = self.status
        self.target.activate(self.hvmon)       # the line first: U-Boot's first bytes count
        self._forget_vm()
        if was == Status.off:
            self._switch("on")
        elif self._has_power():
            self._switch("cycle")
        elif self.hvmon.stub_answers():
            self.hvmon.reset_stub()
        self.hvmon.at_uboot()

    def _to_stub(self) -> None:
        self.target.activate(self.hvmon)
        if self.status == Status.vm:
            self._destroy_vm()
            return
        if self.status == Status.uboot or not self.hvmon.stub_answers():
            if self.status != Status.uboot:
                self._to_uboot()
            self.hvmon.bring_up()

    def _to_vm(self) -> None:
        self.transition(Status.stub)
        board = self.hvmon.board
        config = self._vm_config()
        name = read_toml(config).get("name")
        if any(e.name == name for e in vms.vm_list(board)):
            vms.destroy_vm(board, name)        # an earlier run's guest: this one replaces it
        self.vm_id, parsed = vms.create_vm(board, config)
        self.vm_name = parsed.name
        vms.start_vm(board, parsed.name)
        wait_console(board, self.vm_id, parsed.name, self.wait_for, self.boot_timeout)

    # --- helpers -----------------------------------------------------------------------

    def _vm_config(self) -> Path:
        if self.vm_config:
            env = getattr(self.target, "env", None)
            path = Path(env.config.resolve_path(self.vm_config) if env else self.vm_config)
        else:
            path = self.hvmon.profile.path.parent / "linux.toml"
        if not path.is_file():
            raise ConfigError(f"HvmonStrategy vm_config: {path} does not exist")
        return path

    def _destroy_vm(self) -> None:
        if self.vm_name is not None and self.hvmon.board is not None:
            if any(e.name == self.vm_name for e in vms.vm_list(self.hvmon.board)):
                vms.destroy_vm(self.hvmon.board, self.vm_name)
        self._forget_vm()

    def _forget_vm(self) -> None:
        self.vm_id = self.vm_name = None

    def _has_power(self) -> bool:
        return self.power is not None or has_power_control(self.hvmon.profile)

    def _switch(self, verb: str) -> None:
        """labgrid's power driver where the place has one, else the profile's [power]."""
        if self.power is not None:
            self.target.activate(self.power)
            {"on": self.power.on, "off": self.power.off, "cycle": self.power.cycle}[verb]()
            return
        profile = self.hvmon.profile
        if not has_power_control(profile) and not getattr(profile.power, verb, None):
            raise StrategyError(f"can not switch the board {verb}: the place has no power "
                                f"driver and {profile.path} no [power] section")
        power(profile, verb, self.hvmon.url, say=lambda text: self.logger.info("%s", text))
