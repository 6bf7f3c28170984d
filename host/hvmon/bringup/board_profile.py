"""Board profiles: boards/<name>/board.toml, shared with the firmware build."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..tomlfile import read_toml

REPO_ROOT = Path(__file__).resolve().parents[3]    # host/hvmon/bringup/ -> the repository
# An installed wheel carries the profiles and stub images here (setup.py copies them).
PACKAGED = Path(__file__).resolve().parents[1] / "data"


def boards_dir() -> Path:
    """$HVMON_BOARDS, else the profiles installed with hvmon, else the checkout's."""
    return _first("HVMON_BOARDS", PACKAGED / "boards", REPO_ROOT / "boards")


def firmware_dir() -> Path:
    """$HVMON_FIRMWARE, else the stub images installed with hvmon, else `make firmware`'s."""
    return _first("HVMON_FIRMWARE", PACKAGED / "firmware", REPO_ROOT / "firmware" / "build")


def _first(variable: str, packaged: Path, checkout: Path) -> Path:
    if os.environ.get(variable):
        return Path(os.environ[variable])
    return packaged if packaged.is_dir() else checkout


@dataclass(frozen=True)
class UBootProfile:
    prompt: str
    baud: int
    interrupt: str
    boot_command: str
    # Commands run at the U-Boot prompt after the stub is loaded and checked, before
    # boot_command: e.g. `fdt` commands that edit the DTB the stub is started with.
    before_boot: tuple[str, ...] = ()


@dataclass(frozen=True)
class QemuProfile:
    machine: str
    cpu: str
    bios: str
    memory: str
    smp: int
    # The stub's own line when it is not U-Boot's serial0: a QEMU -device (e.g.
    # "pci-serial,addr=01.0") given a loopback chardev of its own. U-Boot, loady and booti
    # stay on serial0; the stub's banner, monitor and framed link come on this one.
    stub_serial: str | None = None


@dataclass(frozen=True)
class PowerProfile:
    """Shell commands that press a board's buttons (a relay, a switchable USB hub, a lab
    PDU): `hvmon power`, `up` from a board that is off, the `power` fixture, and the HIL
    plugin's recovery of a board whose stub stopped answering run them."""
    reset: str | None = None
    power_cycle: str | None = None
    timeout: float = 30.0          # seconds each command may take
    on: str | None = None
    off: str | None = None


@dataclass(frozen=True)
class BoardProfile:
    name: str
    path: Path
    load_address: int
    uboot: UBootProfile
    qemu: QemuProfile | None = None
    firmware: dict = field(default_factory=dict)
    power: PowerProfile = field(default_factory=PowerProfile)

    def image(self, suffix: str = "bin") -> Path:
        """The stub image built for this board (firmware/Makefile BOARD=<name>)."""
        return firmware_dir() / self.name / f"hvmon-{self.name}.{suffix}"


def _section(data: dict, name: str, path: Path, keys: dict[str, type]) -> dict:
    section = data.get(name)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: missing section [{name}]")
    for key, kind in keys.items():
        if key not in section:
            raise ConfigError(f"{path}: [{name}] is missing key {key!r}")
        if not isinstance(section[key], kind):
            raise ConfigError(f"{path}: [{name}] {key} must be {kind.__name__}")
    return section


def _power(data: dict, path: Path) -> PowerProfile:
    """The optional [power] section: reset / power_cycle commands, run by a shell."""
    section = data.get("power", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: power must be a section [power]")
    known = {"reset", "power_cycle", "timeout", "on", "off"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: [power] unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(known))})")
    for key in ("reset", "power_cycle", "on", "off"):
        if key in section and (not isinstance(section[key], str) or not section[key].strip()):
            raise ConfigError(f"{path}: [power] {key} must be a non-empty shell command")
    timeout = section.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError(f"{path}: [power] timeout must be a positive number of seconds")
    return PowerProfile(section.get("reset"), section.get("power_cycle"), float(timeout),
                        section.get("on"), section.get("off"))


def _before_boot(section: dict, path: Path) -> tuple[str, ...]:
    value = section.get("before_boot", [])
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise ConfigError(f"{path}: [uboot] before_boot must be a list of U-Boot command lines")
    return tuple(value)


def load_profile(name_or_path: str | Path) -> BoardProfile:
    """A board by name (boards/<name>/board.toml) or by the path of a profile file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = boards_dir() / str(name_or_path) / "board.toml"
    if not path.is_file():
        known = sorted(p.parent.name for p in boards_dir().glob("*/board.toml"))
        raise ConfigError(f"no board profile {path} (known boards: {', '.join(known)})")
    data = read_toml(path)
    fw = _section(data, "firmware", path, {"load_address": int, "uart": str})
    ub = _section(data, "uboot", path,
                  {"prompt": str, "baud": int, "interrupt": str, "boot_command": str})
    qemu = None
    if "qemu" in data:
        q = _section(data, "qemu", path,
                     {"machine": str, "cpu": str, "bios": str, "memory": str, "smp": int})
        stub_serial = q.get("stub_serial")
        if stub_serial is not None and (not isinstance(stub_serial, str) or not stub_serial.strip()
                                        or "chardev=" in stub_serial):
            raise ConfigError(f"{path}: [qemu] stub_serial must be a QEMU -device without its "
                              "chardev (e.g. \"pci-serial,addr=01.0\"); hvmon adds the chardev")
        qemu = QemuProfile(q["machine"], q["cpu"], q["bios"], q["memory"], q["smp"], stub_serial)
    return BoardProfile(
        name=data.get("name", path.parent.name),
        power=_power(data, path),
        path=path,
        load_address=fw["load_address"],
        uboot=UBootProfile(ub["prompt"], ub["baud"], ub["interrupt"], ub["boot_command"],
                           _before_boot(ub, path)),
        qemu=qemu,
        firmware=fw,
    )
