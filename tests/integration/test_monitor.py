"""The text monitor, driven over the real serial line of the QEMU board, after a real
U-Boot loaded the stub with loady and started it with booti."""

from __future__ import annotations

import re
import time
import zlib

import pytest

import hvmon

# One stub for the module (its bring-up is budgeted to each test); text commands only.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1)]

SCRATCH = 0x50000000          # RAM well away from the stub and U-Boot's DTB
UDF = 0x00000000              # permanently undefined instruction (UDF #0)
RET = 0xD65F03C0
MOV_X0_42 = 0xD2800540
MOV_X1_DEAD_LSL32 = 0xD2DBD5A1  # mov x1, #0xdead00000000: beyond the 40-bit PA range
LDR_X0_X1 = 0xF9400020


def dump_bytes(output: str) -> bytes:
    """The bytes of an `md` dump (hex columns only)."""
    data = bytearray()
    for line in output.splitlines():
        match = re.match(r"[0-9a-f]{16}:((?: [0-9a-f]{2})+)", line)
        assert match, f"not an md line: {line!r}"
        data += bytes.fromhex(match.group(1))
    return bytes(data)


def crc(stub, addr: int, length: int) -> int:
    output = stub.monitor.check(f"crc {addr:#x} {length:#x}")
    match = re.search(r"= 0x([0-9a-f]{8})", output)
    assert match, output
    return int(match.group(1), 16)


def test_banner_says_version_board_el2_and_ram(stub):
    result = stub.bringup
    assert (result.version, result.board, result.el) == (hvmon.__version__, stub.profile.name, 2)
    assert "RAM   0x0000000040000000-0x000000007fffffff (1024 MiB, from DTB)" in result.banner
    assert re.search(r"stub  0x0000000040200000-0x[0-9a-f]{16} \(\d+ KiB, protected\)",
                     result.banner)


def test_help_lists_every_command_and_describes_one(stub):
    output = stub.monitor.check("help")
    for name in ("help", "info", "uart", "md", "mw", "crc", "go", "reset"):
        assert re.search(rf"^  {name} ", output, re.M), f"{name} missing from help"
    only_md = stub.monitor.check("help md")
    assert only_md.strip().startswith("md ADDR [LEN]") and "mw" not in only_md


def test_info_reads_the_cpu_and_timer(stub):
    output = stub.monitor.check("info")
    assert "at EL2" in output
    assert re.search(r"MIDR_EL1 0x414fd0b1 ", output), "cortex-a76 MIDR"
    frequency = int(re.search(r"CNTFRQ_EL0 (\d+) Hz", output).group(1))
    assert frequency > 0
    uart = int(re.search(r"UART  0x([0-9a-f]+),", output).group(1), 16)
    fw = stub.profile.firmware
    if "uart_base" in fw:                   # the PL011 at a fixed address
        assert uart == fw["uart_base"]
    else:                                   # a PCI 16550: a page of the host bridge's I/O window
        assert fw["pci_io_base"] <= uart < fw["pci_io_base"] + fw["pci_io_size"]


def test_md_shows_the_loaded_image_in_hex_and_ascii(stub):
    output = stub.monitor.check("md 0x40200000 0x40")
    assert dump_bytes(output) == stub.image[:0x40]
    assert "|........ARMd....|" in output


def test_mw_writes_words_that_md_reads_back(stub):
    stub.monitor.check(f"mw {SCRATCH:#x} 0x64636261 3")
    output = stub.monitor.check(f"md {SCRATCH:#x} 12")
    assert dump_bytes(output) == b"abcd" * 3
    assert "|abcdabcdabcd|" in output


def test_crc_agrees_with_the_host_and_with_u_boot(stub):
    # The stub image was checked with U-Boot's crc32 during bring-up; the stub's own
    # CRC of the same bytes must agree with zlib's.
    assert crc(stub, stub.profile.load_address, len(stub.image)) == zlib.crc32(stub.image)
    stub.monitor.check(f"mw {SCRATCH:#x} 0x12345678 256")
    assert crc(stub, SCRATCH, 1024) == zlib.crc32(bytes.fromhex("78563412") * 256)


@pytest.mark.parametrize("command, reason", [
    ("md 0x1000", "0x1000 is outside RAM"),
    ("md 0x7ffffff0 0x20", "0x7ffffff0+0x20 runs past the end of RAM at 0x80000000"),
    ("md 0x40000000 0", "empty range"),
    ("crc 0xfffffffffffffff0 0x20", "wraps around the address space"),
    ("mw 0x40200100 0", "overlaps the stub (0x40200000-"),
    ("mw 0x3ffffffc 0 2", "0x3ffffffc is outside RAM"),
    ("go 0x40200000", "overlaps the stub"),
    ("go 0x09000000", "0x9000000 is outside RAM"),
])
def test_addresses_outside_ram_or_inside_the_stub_are_refused(stub, command, reason):
    before = crc(stub, stub.profile.load_address, len(stub.image))
    output = stub.monitor.command(command)
    assert output.strip().startswith("error: refused: "), output
    assert reason in output
    assert crc(stub, stub.profile.load_address, len(stub.image)) == before


def test_writes_into_the_boot_dtb_are_refused(stub):
    dtb = re.search(r"DTB   0x([0-9a-f]{16})", stub.bringup.banner).group(1)
    output = stub.monitor.command(f"mw 0x{dtb} 0")
    assert "overlaps the boot DTB" in output


@pytest.mark.parametrize("command, error", [
    ("frobnicate", "error: unknown command 'frobnicate' (try help)"),
    ("md 0x4zz", "error: bad number '0x4zz' for ADDR"),
    ("md 0x40000000 -1", "error: bad number '-1' for LEN"),
    ("mw 0x50000000 99999999999", "error: VALUE 0x174876e7ff does not fit 32 bits"),
    ("mw 0x50000002 1", "error: ADDR 0x50000002 is not 4-byte aligned"),
    ("md 0x99999999999999999999", "error: bad number '0x99999999999999999999' for ADDR"),
    ("crc 0x40000000", "error: usage: crc ADDR LEN"),
    ("info extra", "error: usage: info "),
    ("md 1 2 3 4 5 6 7 8 9", "error: too many arguments"),
])
def test_bad_input_gets_one_line_of_error(stub, command, error):
    output = stub.monitor.command(command)
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(error.strip()), output


def test_backspace_edits_the_line(stub):
    stub.link.drain()
    stub.link.write("hepl\x7f\x7flp md\r")
    stub.link.expect(rb"\n  md ADDR \[LEN\]", 5, "edited help command")
    stub.link.expect(rb"\nhvmon> ", 5, "prompt after help")


def test_ctrl_c_abandons_the_line(stub):
    stub.link.drain()
    stub.link.write("reset\x03")
    stub.link.expect(rb"\^C\r\nhvmon> ", 5, "prompt after Ctrl-C")
    assert "at EL2" in stub.monitor.check("info")


def test_go_calls_code_and_prints_what_it_returns(stub):
    code = SCRATCH + 0x1000
    stub.monitor.check(f"mw {code:#x} {MOV_X0_42:#x}")
    stub.monitor.check(f"mw {code + 4:#x} {RET:#x}")
    output = stub.monitor.check(f"go {code:#x}")
    assert f"## calling {code:#x} at EL2" in output
    assert "## returned x0=0x2a" in output


def test_undefined_instruction_is_reported_and_the_monitor_lives_on(stub):
    code = SCRATCH + 0x2000
    stub.monitor.check(f"mw {code:#x} {UDF:#x}")
    output = stub.monitor.command(f"go {code:#x}")
    assert "*** EL2 exception: synchronous, current EL with SP_EL2" in output
    assert "ESR_EL2=0x0000000002000000 (EC 0x00: unknown reason" in output
    assert f"ELR_EL2=0x{code:016x}" in output
    assert re.search(r"FAR_EL2=0x[0-9a-f]{16} SPSR_EL2=0x[0-9a-f]{16}", output)
    assert "back to the monitor" in output
    assert "at EL2" in stub.monitor.check("info")


def test_data_abort_reports_the_faulting_address(stub):
    code = SCRATCH + 0x3000
    for offset, word in enumerate((MOV_X1_DEAD_LSL32, LDR_X0_X1, RET)):
        stub.monitor.check(f"mw {code + 4 * offset:#x} {word:#x}")
    output = stub.monitor.command(f"go {code:#x}")
    assert "(EC 0x25: data abort" in output
    assert "FAR_EL2=0x0000dead00000000" in output
    assert f"ELR_EL2=0x{code + 4:016x}" in output
    # Twice in a row: the reporter re-arms once the monitor runs again.
    assert "(EC 0x25: data abort" in stub.monitor.command(f"go {code:#x}")
    assert crc(stub, stub.profile.load_address, len(stub.image)) == zlib.crc32(stub.image)


def test_a_stray_nul_and_line_noise_do_not_wedge_the_monitor(stub):
    stub.link.drain()
    stub.link.write(b"\x00not a frame\x00\x00\xff\xfe\x00")
    time.sleep(0.5)                       # the monitor gives up on a frame after 200 ms
    assert "at EL2" in stub.monitor.check("info")


# The stub's EL2 MMU (firmware/arch/aarch64/el2_mmu.h). QEMU models no caches, so these
# show that the map is in force and right, and that the paths doing maintenance run.
STR_WZR_X1 = 0xB900003F
LDR_W0_X1 = 0xB9400020
BR_X1 = 0xD61F0020


def load_x1(value: int) -> list[int]:
    """movz/movk x1 with a 32-bit value."""
    return [0xD2A00001 | (value >> 16) << 5, 0xF2800001 | (value & 0xFFFF) << 5]


def put_code(stub, addr: int, words: list[int]) -> None:
    for offset, word in enumerate(words):
        stub.monitor.check(f"mw {addr + 4 * offset:#x} {word:#x}")


def exception_syndrome(output: str) -> tuple[int, int, int]:
    """ESR_EL2, ELR_EL2 and FAR_EL2 from a fault report."""
    esr = int(re.search(r"ESR_EL2=0x([0-9a-f]{16})", output).group(1), 16)
    elr = int(re.search(r"ELR_EL2=0x([0-9a-f]{16})", output).group(1), 16)
    far = int(re.search(r"FAR_EL2=0x([0-9a-f]{16})", output).group(1), 16)
    return esr, elr, far


def stub_range(stub) -> tuple[int, int]:
    match = re.search(r"stub  0x([0-9a-f]{16})-0x([0-9a-f]{16})", stub.monitor.check("info"))
    return int(match.group(1), 16), int(match.group(2), 16) + 1


def test_info_says_the_el2_mmu_and_caches_are_on(stub):
    output = stub.monitor.check("info")
    assert re.search(r"^MMU   EL2 MMU on, caches on: identity map, \d+ table pages", output, re.M), output
    assert "MMU   EL2 MMU on, caches on" in stub.bringup.banner


def test_a_store_to_the_stubs_text_is_a_permission_fault(stub):
    """memmap refuses `mw` there; code called by `go` gets past memmap, not past the MMU."""
    code = SCRATCH + 0x4000
    text = stub.profile.load_address
    put_code(stub, code, load_x1(text) + [STR_WZR_X1, RET])
    output = stub.monitor.command(f"go {code:#x}")
    esr, elr, far = exception_syndrome(output)
    assert esr >> 26 == 0x25, output                 # data abort, current EL
    assert esr & 0x3F == 0x0F, output                # DFSC: permission fault, level 3 (a page)
    assert esr >> 6 & 1 == 1, output                 # WnR: a write
    assert (elr, far) == (code + 8, text)
    assert crc(stub, text, len(stub.image)) == zlib.crc32(stub.image)


def test_executing_the_stubs_data_is_a_permission_fault(stub):
    """The stub's own RAM outside its text is never executable, even while `go` runs."""
    code = SCRATCH + 0x5000
    _, end = stub_range(stub)
    target = end - 0x1000                            # the last page: stacks (RW, XN)
    put_code(stub, code, load_x1(target) + [BR_X1])
    output = stub.monitor.command(f"go {code:#x}")
    esr, elr, far = exception_syndrome(output)
    assert esr >> 26 == 0x21, output                 # instruction abort, current EL
    assert esr & 0x3F == 0x0F, output                # IFSC: permission fault, level 3
    assert elr == far == target
    assert "at EL2" in stub.monitor.check("info")    # the monitor carries on


def test_device_memory_outside_ram_is_mapped_for_the_gic(stub):
    """GICD_PIDR2 (0x0800ffe8) through the Device-nGnRE map: ArchRev 3, a GICv3."""
    code = SCRATCH + 0x6000
    put_code(stub, code, load_x1(0x0800FFE8) + [LDR_W0_X1, RET])
    output = stub.monitor.check(f"go {code:#x}")
    value = int(re.search(r"## returned x0=0x([0-9a-f]+)", output).group(1), 16)
    assert value >> 4 & 0xF == 3, output


def test_go_runs_code_rewritten_in_place(stub):
    """The same address twice with different code: mw cleans what it writes and go
    invalidates the instruction cache, so the second call runs the new instruction."""
    code = SCRATCH + 0x7000
    for value in (7, 9):
        put_code(stub, code, [0xD2800000 | value << 5, RET])     # mov x0, #value; ret
        assert f"## returned x0={value:#x}" in stub.monitor.check(f"go {code:#x}")
