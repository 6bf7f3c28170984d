"""`vm save` on one QEMU board, `vm load` on another: the guest's shell answers on the
second board with a variable it was given on the first. Refusals of files made for
something else come before anything reaches board B."""

from __future__ import annotations

import struct

import pytest

from hvmon.errors import ConfigError
from hvmon.hil.console import Console
from hvmon.target.vm_file import load_vm, save_vm
from hvmon.target.vms import vm_list
from tests.budget import BOOT_S, doing
from tests.integration.test_guests import guest_config
from tests.integration.test_snapshots import PROMPT, shell

# 96 MiB of guest RAM: Debian's kernel and the busybox initramfs boot in it. The save still
# reads every page Linux wrote (its 33 MB kernel among them: ~45 MB over the PL011 line,
# most of this module's ~9 minutes alone); line_bytes budgets that.
SMALL_RAM = 0x6000000
# Kept to `make test-16550` (tests/board_specific.py): on the PL011 board of `make test`
# this module alone took 6-9 minutes, the guest's RAM crossing two lines that take one byte
# per QEMU main-loop turn.
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=2),
              pytest.mark.runs_on_board("qemu-virt-16550", "a guest's RAM across two boards' "
                                        "stub lines: minutes on the PL011 board"),
              pytest.mark.budget(bringups=2, boots=1, line_bytes=50_000_000)]


def test_a_guest_saved_on_one_board_answers_after_load_on_another(boards, tmp_path):
    a, b = boards(2)
    doing("booting Linux to its shell on board A")
    config = guest_config(tmp_path)
    text = config.read_text().replace("size = 0x10000000", f"size = {SMALL_RAM:#x}")
    config.write_text(text)
    guest = a.vm(config)
    guest.console.expect(PROMPT, BOOT_S)
    shell(guest, "KEPT=before-save; echo set-$KEPT", rb"set-before-save")
    doing("vm save on board A")
    path = tmp_path / "linux.hvsnap"
    saved = save_vm(a.board, "linux", path)
    assert saved.pages_sent > 0 and saved.wire_bytes < saved.guest_ram

    doing("files made for something else, refused before board B is touched")
    blob = bytearray(path.read_bytes())
    for offset, fmt, value, field in ((12, "<I", 4, "protocol"), (16, "32s", b"rk3588", "board")):
        bad = bytearray(blob)
        struct.pack_into(fmt, bad, offset, value)
        wrong = tmp_path / f"wrong-{field}.hvsnap"
        wrong.write_bytes(bad)
        with pytest.raises(ConfigError, match=rf"^{wrong}: {field}: made for"):
            load_vm(b.board, wrong)
    assert vm_list(b.board) == []

    doing("vm load on board B")
    loaded = load_vm(b.board, path)
    console = Console(b.board, loaded.vm, "linux")
    assert [(e.name, e.state) for e in vm_list(b.board)] == [("linux", "running")]
    console.send("echo after-load-$KEPT")
    console.expect(rb"after-load-before-save", 30)
    assert loaded.sent < loaded.guest_ram      # the kernel QEMU preloaded on B is not sent again
