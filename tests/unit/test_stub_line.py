"""A board whose stub has a line of its own ([qemu] stub_serial): how QEMU is started for
it, and what the profile may say. No QEMU runs here."""

from __future__ import annotations

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.qemu import QemuBoard
from hvmon.errors import ConfigError


def test_the_16550_board_gets_a_second_loopback_line_for_the_stub():
    board = QemuBoard(load_profile("qemu-virt-16550"), port=50000)
    command = board.command()
    assert board.url == "socket://127.0.0.1:50000"
    assert board.stub_port not in (None, 50000)
    assert board.stub_url == f"socket://127.0.0.1:{board.stub_port}"
    chardev = command[command.index("-chardev") + 1]
    assert chardev == (f"socket,id=stubline,host=127.0.0.1,port={board.stub_port},"
                       "server=on,wait=off,nodelay=on")      # loopback, and never holds the CPU
    assert command[command.index("-device") + 1] == "pci-serial,addr=01.0,chardev=stubline"
    assert command[command.index("-nic") + 1] == "none"
    assert "tcp:127.0.0.1:50000,server=on,wait=on,nodelay=on" in command    # U-Boot's PL011


def test_the_pl011_board_keeps_one_line():
    board = QemuBoard(load_profile("qemu-virt"), port=50001)
    assert board.stub_port is None and board.stub_url == board.url
    assert "-chardev" not in board.command() and "-device" not in board.command()


def test_the_stub_line_needs_tcp():
    with pytest.raises(ConfigError, match=r"stub_serial needs the TCP serial line"):
        QemuBoard(load_profile("qemu-virt-16550"), serial="pty")


@pytest.mark.parametrize("value, why", [
    ('""', "must be a QEMU -device"),
    ("3", "must be a QEMU -device"),
    ('"pci-serial,chardev=x"', "must be a QEMU -device without its chardev"),
])
def test_a_bad_stub_serial_is_named(tmp_path, value, why):
    text = (load_profile("qemu-virt-16550").path.read_text()
            .replace('stub_serial = "pci-serial,addr=01.0"', f"stub_serial = {value}"))
    bad = tmp_path / "board.toml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=rf"board.toml: \[qemu\] stub_serial {why}"):
        load_profile(bad)
