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
