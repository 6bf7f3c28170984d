"""The `power` fixture's switch: the board under test's power and reset, from its
profile's [power] commands (hvmon.bringup.power); a QEMU board the plugin started is
also switched itself (its process stopped and started, its reset button pressed)."""

from __future__ import annotations

from ..bringup.power import has_power_control, power, press_reset, steps_for
from ..errors import ConfigError

__all__ = ["PowerSwitch", "has_power_control", "press_reset"]


class PowerSwitch:
    """on() / off() / cycle() / reset(): after each the stub is gone (the board is at
    U-Boot, or off); boot_stub() brings it up again and returns the new Board. The
    next test's `board` recovers the board by itself whatever this test left."""

    def __init__(self, target):
        self.target = target

    def _commands(self, verb: str) -> bool:
        """Run the profile's commands for verb; False when it has none and the QEMU
        board is switched instead."""
        try:
            steps_for(self.target.profile, verb)
        except ConfigError:
            if self.target.is_qemu:
                return False
            raise
        power(self.target.profile, verb, self.target.url, self.target.say)
        return True

    def on(self) -> None:
        self._commands("on")
        self.target.power_on()

    def off(self) -> None:
        self.target.forget_board()
        self._commands("off")
        self.target.power_off()

    def cycle(self) -> None:
        self.target.forget_board()
        if not self._commands("cycle"):
            self.target.power_off()
        self.target.power_on()

    def reset(self) -> None:
        self.target.forget_board()
        self._commands("reset")
        self.target.press_qemu_reset()

    def boot_stub(self):
        """Bring the stub up through U-Boot (after on, cycle or reset); the Board."""
        self.target.bring_up_again()
        return self.target.board
