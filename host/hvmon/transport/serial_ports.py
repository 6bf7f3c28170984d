"""Serial ports on this machine (pyserial's list_ports), `-p auto` and `-p id:SERIAL`.

A USB adapter's /dev/ttyUSB* name depends on the order adapters were plugged in and may
change when one re-enumerates (a board power cycle that also powers the adapter, a hub
reset); its USB serial number (the iSerialNumber string descriptor, which pyserial reads
from sysfs as ListPortInfo.serial_number) stays with the adapter."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from serial.tools import list_ports

from ..errors import ConfigError


@dataclass(frozen=True)
class SerialDevice:
    device: str
    vid_pid: str | None          # "10c4:ea60" for USB adapters, None otherwise
    description: str
    manufacturer: str | None
    serial_number: str | None

    @property
    def usb(self) -> bool:
        return self.vid_pid is not None

    def as_dict(self) -> dict:
        return asdict(self)


BY_SERIAL = "id:"            # -p id:SERIAL


def list_devices(ports=None) -> list[SerialDevice]:
    """This machine's serial ports, or those of `ports` (pyserial ListPortInfo objects)."""
    out = []
    ports = list_ports.comports() if ports is None else ports
    for p in sorted(ports, key=lambda p: p.device):
        vid_pid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else None
        description = p.description if p.description and p.description != "n/a" else ""
        out.append(SerialDevice(p.device, vid_pid, description, p.manufacturer, p.serial_number))
    return out


def auto_port(devices: list[SerialDevice] | None = None) -> str:
    """The one USB-serial adapter plugged in; otherwise say what was found."""
    devices = list_devices() if devices is None else devices
    usb = [d for d in devices if d.usb]
    if len(usb) == 1:
        return usb[0].device
    if not usb:
        others = f" (other serial ports: {', '.join(d.device for d in devices)})" if devices else ""
        raise ConfigError(f"-p auto: no USB serial adapter found{others}")
    found = ", ".join(f"{d.device} [{d.vid_pid} {d.description}]".replace(" ]", "]") for d in usb)
    raise ConfigError(f"-p auto: {len(usb)} USB serial adapters found, pick one with -p: {found}")


def by_serial_number(spec: str, devices: list[SerialDevice] | None = None) -> str | None:
    """The device of `id:SERIAL` (the adapter whose USB serial number is SERIAL), or None
    while no such adapter is plugged in. Two adapters with one serial number (cheap
    clones all report the same) cannot be told apart: that is an error, not a guess."""
    serial_number = spec[len(BY_SERIAL):]
    if not serial_number:
        raise ConfigError("-p id:SERIAL: the serial number is missing (`hvmon devs` lists them)")
    devices = list_devices() if devices is None else devices
    found = [d for d in devices if d.serial_number == serial_number]
    if len(found) > 1:
        raise ConfigError(f"-p {spec}: {len(found)} adapters report serial number "
                          f"{serial_number!r} ({', '.join(d.device for d in found)}): pick one "
                          "by its device name or /dev/serial/by-path link")
    return found[0].device if found else None


def resolve_serial_number(spec: str, devices: list[SerialDevice] | None = None) -> str:
    """by_serial_number, for a port that must be there now."""
    devices = list_devices() if devices is None else devices
    device = by_serial_number(spec, devices)
    if device is None:
        known = ", ".join(f"{d.device} {d.serial_number}" for d in devices if d.serial_number)
        raise ConfigError(f"-p {spec}: no serial adapter with serial number "
                          f"{spec[len(BY_SERIAL):]!r} is plugged in"
                          + (f" (adapters: {known})" if known else " (no adapter reports one)"))
    return device


def stable_name(device: str, devices: list[SerialDevice] | None = None) -> str:
    """How to find `device` again after it re-enumerates: `id:SERIAL` when the adapter
    reports a serial number, else the device itself (what `-p auto` picked is looked
    for this way, not by asking for "the only adapter" again)."""
    devices = list_devices() if devices is None else devices
    for d in devices:
        if d.device == device and d.serial_number:
            return f"{BY_SERIAL}{d.serial_number}"
    return device
