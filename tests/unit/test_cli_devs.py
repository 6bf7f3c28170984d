"""`-p auto`: the one USB serial adapter, or a clear line saying what was found."""

from __future__ import annotations

import pytest

from hvmon.errors import ConfigError
from hvmon.transport.serial_ports import SerialDevice, auto_port, list_devices

BUILTIN = SerialDevice("/dev/ttyS0", None, "", None, None)
CP2102 = SerialDevice("/dev/ttyUSB0", "10c4:ea60", "CP2102 USB to UART Bridge Controller", "Silicon Labs", "0001")
FTDI = SerialDevice("/dev/ttyUSB1", "0403:6001", "FT232R USB UART", "FTDI", "A10K")


def test_the_only_usb_adapter_is_picked():
    assert auto_port([BUILTIN, CP2102]) == "/dev/ttyUSB0"


def test_no_usb_adapter_names_the_other_ports():
    with pytest.raises(ConfigError, match=r"^-p auto: no USB serial adapter found \(other serial ports: /dev/ttyS0\)$"):
        auto_port([BUILTIN])
    with pytest.raises(ConfigError, match=r"^-p auto: no USB serial adapter found$"):
        auto_port([])


def test_several_usb_adapters_are_listed_with_vid_pid():
    with pytest.raises(ConfigError) as err:
        auto_port([CP2102, FTDI, BUILTIN])
    assert str(err.value) == ("-p auto: 2 USB serial adapters found, pick one with -p: /dev/ttyUSB0 "
                              "[10c4:ea60 CP2102 USB to UART Bridge Controller], /dev/ttyUSB1 "
                              "[0403:6001 FT232R USB UART]")


def test_this_machines_ports_list_cleanly():
    for device in list_devices():          # whatever this machine has: well-formed entries
        assert device.device.startswith("/dev/")
        assert device.vid_pid is None or len(device.vid_pid) == 9


def usb_port(device: str, serial_number: str | None, vid: int = 0x10C4, pid: int = 0xEA60):
    """A pyserial ListPortInfo as list_ports.comports() gives it for a USB adapter."""
    from serial.tools.list_ports_common import ListPortInfo
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial_number
    info.description = "CP2102 USB to UART Bridge Controller"
    return info


def test_id_serial_picks_the_adapter_by_its_usb_serial_number_whatever_its_name():
    from hvmon.transport.serial_ports import by_serial_number, resolve_serial_number
    before = list_devices([usb_port("/dev/ttyUSB0", "A10K"), usb_port("/dev/ttyUSB1", "0001")])
    assert resolve_serial_number("id:0001", before) == "/dev/ttyUSB1"
    # Re-enumerated in the other order: the same adapter under another name.
    after = list_devices([usb_port("/dev/ttyUSB1", "A10K"), usb_port("/dev/ttyUSB0", "0001")])
    assert resolve_serial_number("id:0001", after) == "/dev/ttyUSB0"
    # Unplugged: None while waiting for it, a clear line where it must be there now.
    gone = list_devices([usb_port("/dev/ttyUSB0", "A10K")])
    assert by_serial_number("id:0001", gone) is None
    with pytest.raises(ConfigError, match=r"^-p id:0001: no serial adapter with serial number "
                                          r"'0001' is plugged in \(adapters: /dev/ttyUSB0 A10K\)$"):
        resolve_serial_number("id:0001", gone)


def test_id_serial_refuses_what_it_cannot_tell_apart():
    from hvmon.transport.serial_ports import resolve_serial_number
    clones = list_devices([usb_port("/dev/ttyUSB0", "0001"), usb_port("/dev/ttyUSB1", "0001")])
    with pytest.raises(ConfigError, match=r"2 adapters report serial number '0001' "
                                          r"\(/dev/ttyUSB0, /dev/ttyUSB1\)"):
        resolve_serial_number("id:0001", clones)
    with pytest.raises(ConfigError, match="the serial number is missing"):
        resolve_serial_number("id:", clones)
    with pytest.raises(ConfigError, match=r"\(no adapter reports one\)$"):
        resolve_serial_number("id:X", list_devices([usb_port("/dev/ttyUSB0", None)]))


def test_devs_shows_serial_numbers(monkeypatch, capsys):
    from serial.tools import list_ports

    from hvmon.ui.cli import main
    monkeypatch.setattr(list_ports, "comports", lambda: [usb_port("/dev/ttyUSB0", "A10K")])
    assert main(["devs"]) == 0
    assert capsys.readouterr().out.split() == ["/dev/ttyUSB0", "10c4:ea60", "A10K", "CP2102", "USB",
                                               "to", "UART", "Bridge", "Controller"]


def test_what_auto_picked_is_found_again_by_its_serial_number():
    from hvmon.transport.serial_ports import stable_name
    devices = list_devices([usb_port("/dev/ttyUSB0", "A10K"), usb_port("/dev/ttyUSB1", None)])
    assert stable_name("/dev/ttyUSB0", devices) == "id:A10K"
    assert stable_name("/dev/ttyUSB1", devices) == "/dev/ttyUSB1"      # no serial number
