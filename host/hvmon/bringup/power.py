"""Power and reset control of a real board: the shell commands its profile names in
[power] (a relay, a switchable USB hub, a lab PDU).

    [power]
    on = "relay-ctl 3 on"
    off = "relay-ctl 3 off"
    power_cycle = "uhubctl -a cycle -p 2"      # optional: else off, a pause, on
    reset = "relay-ctl 4 pulse"                # optional: else a power cycle
    timeout = 30                               # seconds each command may take

Each command runs in a shell that sees HVMON_BOARD (the profile's name) and HVMON_PORT
(the board's serial line, when known), so one script can serve a rack."""

from __future__ import annotations

import os
import subprocess
import time

from ..errors import ConfigError, HvmonError
from .board_profile import BoardProfile

VERBS = ("on", "off", "cycle", "reset")
OFF_PAUSE = 1.0          # seconds between off and on: capacitors drain, USB hubs notice


def has_power_control(profile: BoardProfile) -> bool:
    p = profile.power
    return bool(p.reset or p.power_cycle or (p.on and p.off))


def steps_for(profile: BoardProfile, verb: str) -> list[str]:
    """The [power] keys a verb runs, in order: `cycle` is power_cycle or off + on,
    `reset` is reset or a cycle. Raises ConfigError naming what the profile lacks."""
    p = profile.power
    if verb not in VERBS:
        raise ConfigError(f"power: unknown action {verb!r} (known: {', '.join(VERBS)})")
    if verb in ("on", "off"):
        if getattr(p, verb) is None:
            raise ConfigError(f"{profile.path}: [power] has no {verb} command")
        return [verb]
    if verb == "reset" and p.reset:
        return ["reset"]
    if p.power_cycle:
        return ["power_cycle"]
    if p.on and p.off:
        return ["off", "on"]
    wanted = "reset, power_cycle, or on and off" if verb == "reset" else "power_cycle, or on and off"
    raise ConfigError(f"{profile.path}: [power] has no command to {verb} the board "
                      f"(needs {wanted})")


def power(profile: BoardProfile, verb: str, url: str | None = None, say=None) -> list[str]:
    """Run the commands of a verb (on, off, cycle, reset); return the keys that ran."""
    steps = steps_for(profile, verb)
    for i, key in enumerate(steps):
        if i:
            time.sleep(OFF_PAUSE)
        run_power_command(profile, key, url, say)
    return steps


def press_reset(profile: BoardProfile, url: str, say=None) -> str:
    """Run the profile's reset command (power_cycle when there is no reset); return which
    key ran. What the HIL plugin does to recover a board."""
    key = "reset" if profile.power.reset else "power_cycle"
    if not getattr(profile.power, key):
        raise ConfigError(f"{profile.path}: [power] has neither reset nor power_cycle")
    run_power_command(profile, key, url, say)
    return key


def run_power_command(profile: BoardProfile, key: str, url: str | None, say=None) -> None:
    command = getattr(profile.power, key)
    if say:
        say(f"[power] {key}: {command}")
    env = dict(os.environ, HVMON_BOARD=profile.name, HVMON_PORT=url or "")
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
