"""Serial ports on this machine (pyserial's list_ports), and `-p auto`."""

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


def list_devices() -> list[SerialDevice]:
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
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
