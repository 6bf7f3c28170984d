"""Power and reset control of a real board: the shell commands its profile names in
[power] (a relay, a switchable USB hub, a lab PDU)."""

from __future__ import annotations

import os
import subprocess

from ..bringup.board_profile import BoardProfile
from ..errors import ConfigError, HvmonError


def has_power_control(profile: BoardProfile) -> bool:
    return bool(profile.power.reset or profile.power.power_cycle)


def press_reset(profile: BoardProfile, url: str, say=None) -> str:
    """Run the profile's reset command (power_cycle when there is no reset); return which
    key ran. The command sees HVMON_BOARD and HVMON_PORT, so one script can serve a rack."""
    key = "reset" if profile.power.reset else "power_cycle"
    command = getattr(profile.power, key)
    if not command:
        raise ConfigError(f"{profile.path}: [power] has neither reset nor power_cycle")
    if say:
        say(f"[power] {key}: {command}")
    env = dict(os.environ, HVMON_BOARD=profile.name, HVMON_PORT=url)
    try:
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                              timeout=profile.power.timeout)
    except subprocess.TimeoutExpired:
        raise HvmonError(f"{profile.path}: [power] {key} did not finish within "
                         f"{profile.power.timeout:g} s: {command}") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HvmonError(f"{profile.path}: [power] {key} exited with {done.returncode}: "
                         f"{last[0]}")
    return key
