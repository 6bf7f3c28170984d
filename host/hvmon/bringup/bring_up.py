"""Bring the stub up through U-Boot: prompt, loady, crc32 check, booti, banner."""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BoardRefused, ConfigError, StepTimeout
from ..target.monitor import TextMonitor
from ..transport.expect import Expect
from .board_profile import BoardProfile
from .uboot import UBoot


# The stub prints its banner within milliseconds of booti. On a line of its own the host
# may miss it (see TextMonitor.wait_banner): it asks again after OWN_LINE_POKE_AFTER, and
# gives up at the timeout, which leaves room for a QEMU board on a loaded 2-core machine
# that has not yet run the stub from booti to its banner.
OWN_LINE_POKE_AFTER = 3.0
OWN_LINE_BANNER_TIMEOUT = 30.0


@dataclass
class BringupResult:
    version: str
    board: str
    el: int
    banner: str
    image_size: int
    seconds: dict[str, float]
    boot_log: str = ""          # what U-Boot printed between the boot command and the banner


def bring_up(link: Expect, profile: BoardProfile, image: Path | None = None,
             prompt_timeout: float = 60.0, progress=None, say=None,
             stub_link: Expect | None = None, at_prompt=None) -> BringupResult:
    """Each step has its own timeout; an error names the step that failed. `link` is
    U-Boot's line; `stub_link` the stub's where it has its own (a profile's [qemu]
    stub_serial), else the stub answers on `link` too.
    at_prompt(uboot), if given, runs once U-Boot's prompt is caught and before loady: a
    caller (the selftest) asks U-Boot what it knows in the same bring-up."""
    say = say or (lambda text: None)
    image = image or profile.image()
    try:
        data = Path(image).read_bytes()
    except OSError as exc:
        raise ConfigError(f"stub image {image}: {exc.strerror} (build it: make firmware)") from None
    if data[0x38:0x3c] != b"ARM\x64":
        raise ConfigError(f"stub image {image}: no arm64 Image header (magic at 0x38)")
    uboot = UBoot(link, profile.uboot)
    seconds = {}

    started = time.monotonic()
    say("waiting for the U-Boot prompt")
    uboot.catch_prompt(prompt_timeout)
    seconds["prompt"] = time.monotonic() - started
    if at_prompt is not None:
        at_prompt(uboot)

    step = time.monotonic()
    say(f"loady {len(data)} bytes to {profile.load_address:#x}")
    uboot.loady(profile.load_address, data, progress=progress)
    seconds["loady"] = time.monotonic() - step

    step = time.monotonic()
    expected = zlib.crc32(data)
    got = uboot.crc32(profile.load_address, len(data))
    if got != expected:
        raise BoardRefused(f"crc32 check: U-Boot computed {got:08x} over {len(data)} bytes at "
                           f"{profile.load_address:#x}, host {expected:08x}")
    seconds["crc32"] = time.monotonic() - step

    step = time.monotonic()
    for line in profile.uboot.before_boot:
        say(line)
        uboot.check(line, step=f"U-Boot before booti: {line!r}")
    seconds["before_boot"] = time.monotonic() - step

    step = time.monotonic()
    command = profile.uboot.boot_command.format(addr=profile.load_address)
    say(command)
    link.drain()
    if stub_link is not None:
        stub_link.drain()
    boot_from = len(link.transcript)
    link.write(command + "\n")
    try:
        if stub_link is None:
            info = TextMonitor(link).wait_banner()
        else:
            info = TextMonitor(stub_link).wait_banner(OWN_LINE_BANNER_TIMEOUT,
                                                      poke_after=OWN_LINE_POKE_AFTER)
    except StepTimeout as exc:
        if stub_link is None:
            raise
        # What U-Boot said after booti is on its own line, which nobody read meanwhile.
        link.read_waiting()
        after_boot = bytes(link.transcript[boot_from:]).decode(errors="replace")
        raise StepTimeout(exc.step, f"the stub's banner on its own line ({profile.qemu.stub_serial}"
                          "; asked again with `info` from "
                          f"{OWN_LINE_POKE_AFTER:g} s on; if the stub could not find that UART "
                          "it stays silent)",
                          exc.timeout, after_boot or "(U-Boot printed nothing after booti)") from None
    boot_log = bytes(link.transcript[boot_from:]).decode(errors="replace")
    banner_at = boot_log.find("hvmon ")
    boot_log = boot_log[:banner_at] if banner_at >= 0 else boot_log
    seconds["boot"] = time.monotonic() - step
    seconds["total"] = time.monotonic() - started
    if info["board"] != profile.name:
        raise BoardRefused(f"stub banner says board {info['board']}, expected {profile.name}")
    return BringupResult(info["version"], info["board"], info["el"], info["banner"], len(data),
                         seconds, boot_log)
