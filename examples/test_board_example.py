"""A hardware-in-the-loop test file for the hvmon pytest plugin: it runs as written on the
QEMU board the plugin starts (`pytest examples/test_board_example.py`), and on a real
board with `--hvmon-board rk3588 --hvmon-port /dev/ttyUSB0`."""

import os

import pytest

SCRATCH = 0x48000000            # board RAM clear of the stub (boards/<board>/README.md)


def test_the_stub_answers(board):
    assert board.info().board in ("qemu-virt", "qemu-virt-16550", "rk3588")
    assert board.hvc("echo", 1, 2, 3).results == {"a": 1, "b": 2, "c": 3}


def test_memory_round_trips(board):
    data = os.urandom(64 * 1024)
    board.write(SCRATCH, data)
    assert board.read(SCRATCH, len(data)) == data


def test_linux_guest_shell(console):
    console.expect(r"/ # ", timeout=90)
    console.send("echo $((6 * 7))")
    console.expect(r"\n42\r?\n")


def test_a_guest_from_a_dict(vm):
    guest = vm({
        "name": "tiny",
        "memory": [{"ipa": 0x40000000, "size": 0x10000000, "pa": 0x50000000}],
        "kernel": "cache/guest/Image",
        "initrd": "cache/guest/initramfs.cpio.gz",
        "cmdline": "console=ttyAMA0 rdinit=/init",
    })
    guest.console.expect(r"/ # ", timeout=90)
    guest.console.send("poweroff -f")
    assert guest.wait_stopped(30).reason == "SYSTEM_OFF"


@pytest.mark.hardware("the RK3588's second UART is wired to a loopback plug")
def test_only_on_the_real_board(board):
    assert board.info().board == "rk3588"
