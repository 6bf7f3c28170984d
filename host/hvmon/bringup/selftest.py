"""`hvmon selftest`: bring the stub up once and measure what a new board needs known.

One bring-up through U-Boot (asking U-Boot its banner and the environment values that
matter while it is at the prompt), then the checks of selftest_checks.py on the framed
board, then a Linux guest booted with a DTB cut from the board's own DTB. Every step
becomes a line of the report, failed steps included: a check that raises fails its line
and the run goes on, so one report shows everything that is wrong at once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, HvmonError
from ..target.board import Board, Range
from . import selftest_checks as checks
from .board_profile import BoardProfile
from .selftest_report import Line, Report

UBOOT_VARIABLES = ("kernel_addr_r", "fdt_addr_r", "fdtcontroladdr")
GUEST_TAIL_LINES = 8               # of the guest's console, in the report
# A shell's cursor-position query and other escapes: noise in a Markdown report.
TERMINAL_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])|[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class SelftestOptions:
    image: Path | None = None
    guest: Path | None = None          # VM config; default boards/<board>/linux.toml
    boot_guest: bool = True
    scratch_size: int = 1 << 20        # RAM pattern test and unpack targets
    transfer_bytes: int = 256 << 10    # goodput, each direction
    guest_timeout: float = 180.0
    prompt_timeout: float = 60.0
    qemu_lifetime: float = 1200.0      # a QEMU board the selftest starts never outlives this


def guest_config(profile: BoardProfile, options: SelftestOptions) -> Path | None:
    if options.guest is not None:
        if not Path(options.guest).is_file():
            raise ConfigError(f"selftest --guest: no such file {options.guest}")
        return Path(options.guest)
    default = profile.path.parent / "linux.toml"
    return default if default.is_file() else None


class UBootFacts:
    """The at_prompt hook of bring_up: U-Boot's version and environment, asked once."""

    def __init__(self):
        self.version = ""
        self.env: dict[str, str | None] = {}
        self.seconds = 0.0

    def __call__(self, uboot) -> None:
        started = time.monotonic()
        self.version = uboot.run("version", step="U-Boot version").strip()
        for name in UBOOT_VARIABLES:
            # One name per printenv: a missing one is an error line, not a lost answer.
            output = uboot.run(f"printenv {name}", step=f"U-Boot printenv {name}")
            match = re.search(rf"^{name}=(.*?)\r?$", output, re.M)
            self.env[name] = match.group(1).strip() if match else None
        self.seconds = time.monotonic() - started


def uboot_lines(facts: UBootFacts, profile: BoardProfile, power_on: str) -> list[Line]:
    banner = next((line.strip() for line in power_on.splitlines() if line.startswith("U-Boot ")),
                  "")
    version = facts.version.splitlines()[0] if facts.version else ""
    lines = [Line("U-Boot", "pass" if version else "fail",
                  f"{version or 'no answer to `version`'}; prompt {profile.uboot.prompt!r} caught",
                  {"version": facts.version, "power_on_banner": banner,
                   "prompt": profile.uboot.prompt},
                  seconds=facts.seconds, details=facts.version)]
    used = set(re.findall(r"\$\{?(\w+)", profile.uboot.boot_command))
    missing = [name for name in used if facts.env.get(name) is None and name in facts.env]
    text = ", ".join(f"{k}={v if v is not None else '(not set)'}" for k, v in facts.env.items())
    lines.append(Line("U-Boot environment", "fail" if missing else "pass",
                      text + (f"; the boot command needs {', '.join(missing)}" if missing else ""),
                      dict(facts.env), seconds=facts.seconds))
    # Both lines come from the one exchange at the prompt; its time is shown once, on the first.
    lines[1].seconds = 0.0
    return lines


def _timed(report: Report, name: str, check) -> list[Line]:
    """Run one check; its exception becomes a failed line naming the error."""
    started = time.monotonic()
    try:
        result = check()
    except HvmonError as exc:
        result = Line(name, "fail", f"{type(exc).__name__}: {exc}")
    lines = result if isinstance(result, list) else [result]
    for line in lines:
        if not line.seconds:
            line.seconds = time.monotonic() - started
        report.add(line)
    return lines


def run_selftest(profile: BoardProfile, url: str | None = None,
                 options: SelftestOptions | None = None, say=print,
                 stub_url: str | None = None) -> Report:
    """With url None a QEMU board of the profile is started (kernel and initrd of the
    guest preloaded, as `hvmon up` does) and stopped at the end. stub_url: the stub's own
    line on a board where it is not U-Boot's (a QEMU board started here brings its own)."""
    options = options or SelftestOptions()
    config = guest_config(profile, options) if options.boot_guest else None
    qemu = None
    if url is None:
        from .preload import preload_args
        from .qemu import QemuBoard
        qemu = QemuBoard(profile, extra_args=preload_args(config) if config else [],
                         lifetime=options.qemu_lifetime)
        qemu.start()
        url = qemu.url
        stub_url = qemu.stub_url if qemu.stub_port is not None else None
        say(f"QEMU {profile.name} running as pid {qemu.pid}, serial on {url}"
            + (f", the stub's line on {stub_url}" if stub_url else ""))
    report = Report(profile.name, url if stub_url is None else f"{url} (U-Boot), {stub_url} (stub)")
    started = time.monotonic()
    try:
        _run(report, profile, url, options, config, say, stub_url)
    finally:
        report.seconds = time.monotonic() - started
        if qemu is not None:
            qemu.stop()
            say("QEMU stopped")
    return report


def _run(report: Report, profile, url, options, config, say, stub_url=None) -> None:
    from ..transport.expect import Expect
    from ..transport.link import open_link
    from .bring_up import bring_up
    port = open_link(url, profile.uboot.baud)
    stub_port = open_link(stub_url, profile.uboot.baud) if stub_url else None
    board = None
    try:
        link = Expect(port)
        facts = UBootFacts()
        say("bring-up: U-Boot, loady, crc32, booti")
        try:
            result = bring_up(link, profile, image=options.image, say=say, at_prompt=facts,
                              prompt_timeout=options.prompt_timeout,
                              stub_link=Expect(stub_port) if stub_port else None)
        except HvmonError as exc:
            if facts.version:            # U-Boot answered before the bring-up failed
                for line in uboot_lines(facts, profile, bytes(link.transcript).decode(errors="replace")):
                    report.add(line)
            report.add(Line("bring-up", "fail", f"{type(exc).__name__}: {exc}"))
            return
        power_on = bytes(link.transcript).decode(errors="replace")
        for line in uboot_lines(facts, profile, power_on):
            report.add(line)
        s = result.seconds
        report.add(Line("bring-up", "pass",
                        f"stub {result.version} on {result.board} at EL{result.el}: "
                        f"{result.image_size} bytes; loady {s['loady']:.2f} s, crc32 "
                        f"{s['crc32']:.2f} s, booti to banner {s['boot']:.2f} s",
                        {"version": result.version, "el": result.el,
                         "image_size": result.image_size,
                         **{k: round(v, 3) for k, v in s.items()}},
                        seconds=s["total"], details=result.banner))
        board = Board.attach(stub_port or port)
        _framed_checks(report, board, profile, result.boot_log, options, config, say)
    finally:
        if board is not None:
            board.close()
        port.close()
        if stub_port is not None:
            stub_port.close()


def _guest_avoid(config: Path | None) -> list[Range]:
    """The guest's fixed RAM: the scratch range must not overwrite its preloaded kernel."""
    if config is None:
        return []
    from ..target.vmconfig import load_vm_config
    return [Range(m.pa, m.size, "guest") for m in load_vm_config(config).memory if m.pa is not None]


def _framed_checks(report, board: Board, profile, boot_log, options, config, say) -> None:
    info = board.info()
    _timed(report, "load address", lambda: checks.check_load_address(info, profile, boot_log))
    _timed(report, "RAM map", lambda: checks.check_ram_map(info))
    _timed(report, "timer", lambda: checks.check_timer(board))
    avoid = list(info.protected) + list(checks.reserved_ranges(info) or ()) + _guest_avoid(config)
    scratch = checks.pick_scratch(info.ram, avoid, options.scratch_size)
    if scratch is None:
        report.add(Line("RAM pattern test", "fail",
                        f"no free {options.scratch_size >> 10} KiB of RAM outside the protected, "
                        "reserved and guest ranges"))
    else:
        say(f"RAM pattern test on {scratch}")
        _timed(report, "RAM pattern test", lambda: checks.check_ram_patterns(board, scratch))
        say(f"goodput: {options.transfer_bytes >> 10} KiB each way")
        _timed(report, "goodput", lambda: checks.goodput_lines(
            board, scratch, options.transfer_bytes, profile.uboot.baud,
            paced=profile.qemu is None))      # a profile with [qemu] is an emulated board
        _timed(report, "inflate", lambda: checks.check_unpack(board, scratch, "deflate"))
        _timed(report, "LZMA2", lambda: checks.check_unpack(board, scratch, "lzma2"))
    if not options.boot_guest:
        report.add(Line("Linux guest", "skipped", "--no-guest"))
    elif config is None:
        report.add(Line("Linux guest", "skipped",
                        f"no guest config: {profile.path.parent / 'linux.toml'} does not exist "
                        "(give --guest CONFIG)"))
    else:
        say(f"Linux guest from {config}")
        _timed(report, "Linux guest", lambda: boot_guest(board, config, options.guest_timeout))
    _timed(report, "UART FIFO", lambda: checks.check_uart_fifo(board))
    _timed(report, "link counters", lambda: checks.check_link_counters(board))


def boot_guest(board: Board, config_path: Path, timeout: float) -> Line:
    """Create the VM (its DTB cut from the board's own, read back from the stub), start
    it, wait for its shell, note the kernel's version line, destroy it."""
    from ..target import vms
    from .plan import wait_console
    started = time.monotonic()
    vm, config = vms.create_vm(board, config_path)
    try:
        pushed = time.monotonic() - started
        vms.start_vm(board, config.name)
        to_shell = wait_console(board, vm, config.name, r"/ # ", timeout)
        console = bytes(board.consoles.get(vm, b"")).decode(errors="replace")
    finally:
        vms.destroy_vm(board, config.name)
    console = TERMINAL_ESCAPES.sub("", console.replace("\r\n", "\n"))
    match = re.search(r"Linux version (\S+)", console)
    kernel = match.group(1) if match else "version line not seen"
    dtb = "its own `dtb` file" if config.dtb else "a DTB cut from the board's DTB"
    values = {"config": str(config_path), "create_s": round(pushed, 3),
              "to_shell_s": round(to_shell, 3), "kernel": kernel, "dtb_cut": config.dtb is None}
    text = (f"Linux {kernel} at its shell {to_shell:.1f} s after the start (VM created in "
            f"{pushed:.1f} s), with {dtb}")
    return Line("Linux guest", "pass", text, values,
                details="\n".join(console.splitlines()[-GUEST_TAIL_LINES:]))
