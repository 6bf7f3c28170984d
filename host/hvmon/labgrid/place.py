"""`-p labgrid:PLACE`: the serial line of a labgrid place this user has acquired
(`labgrid-client -p PLACE acquire`), found through the coordinator that LG_COORDINATOR
names (labgrid's own variable; default 127.0.0.1:20408)."""

from __future__ import annotations

from ..errors import ConfigError, LinkError

PREFIX = "labgrid:"
SERIAL_CLASSES = ("NetworkSerialPort", "RawSerialPort", "USBSerialPort")


def place_url(port: str) -> str:
    """The pyserial URL of the place's serial resource. Refused, with labgrid's reason,
    when the place is unknown or not acquired by this user on this host."""
    name = port[len(PREFIX):]
    if not name:
        raise ConfigError(f"-p {port}: name the place, e.g. -p labgrid:my-board")
    from labgrid import Target
    from labgrid.remote.client import Error as ClientError
    from labgrid.resource.remote import RemotePlace

    from .serial_url import serial_url
    target = Target(f"hvmon-{name}")
    try:
        RemotePlace(target, name=name)     # expands into the place's resources
    except ClientError as exc:             # not acquired, acquired by another, no such place
        raise LinkError(f"-p {port}: {str(exc).removeprefix('Error: ')}") from None
    except (ConnectionError, OSError) as exc:
        raise LinkError(f"-p {port}: labgrid coordinator: {exc}") from None
    serial = [r for r in target.resources if type(r).__name__ in SERIAL_CLASSES]
    if not serial:
        have = ", ".join(type(r).__name__ for r in target.resources) or "none"
        raise ConfigError(f"-p {port}: the place has no serial resource (it has: {have})")
    if len(serial) > 1:
        names = ", ".join(r.name or type(r).__name__ for r in serial)
        raise ConfigError(f"-p {port}: the place has {len(serial)} serial resources ({names}); "
                          "use an environment YAML to pick one")
    return serial_url(serial[0])
