"""A labgrid serial resource as the pyserial URL hvmon opens: a NetworkSerialPort (what
an exporter publishes for its ser2net, or a console server) or a local SerialPort
(RawSerialPort, USBSerialPort)."""

from __future__ import annotations

from ..errors import ConfigError

# NetworkSerialPort.protocol (labgrid/resource/serialport.py): "rfc2217" is ser2net's
# telnet accepter with RFC 2217, "raw" a plain TCP byte stream.
SCHEMES = {"rfc2217": "rfc2217", "raw": "socket"}


def serial_url(resource) -> str:
    """The URL of a bound labgrid serial resource. Host and port go through labgrid's
    proxy manager, so a place behind an isolated exporter (SSH forwarding) works too."""
    from labgrid.resource import NetworkSerialPort
    from labgrid.util.proxy import proxymanager
    if isinstance(resource, NetworkSerialPort):
        scheme = SCHEMES.get(resource.protocol)
        if scheme is None:
            raise ConfigError(f"labgrid resource {resource.name or 'NetworkSerialPort'}: protocol "
                              f"{resource.protocol!r} is neither of {', '.join(SCHEMES)}")
        if not resource.port:
            raise ConfigError(f"labgrid resource {resource.name or 'NetworkSerialPort'} on "
                              f"{resource.host}: no TCP port published yet (is the place acquired?)")
        host, port = proxymanager.get_host_and_port(resource)
        return f"{scheme}://{host}:{port}"
    device = getattr(resource, "port", None)
    if not device:
        raise ConfigError(f"labgrid resource {resource}: no serial device (port) known")
    return str(device)
