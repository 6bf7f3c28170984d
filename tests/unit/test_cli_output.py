"""How results and events read: hex dumps, hypercall status names, event lines."""

from __future__ import annotations

import struct

from hvmon import protocol as P
from hvmon.target.symbols import Symbolizer
from hvmon.transport.session import HOST_LOST
from hvmon.ui.commands.board_cmds import hexdump, status_name
from hvmon.target.events import describe_event
from tests.unit.test_symbols import build_elf


def test_hexdump_rows_of_sixteen_with_ascii():
    text = hexdump(0x40200030, bytes(range(0x41, 0x41 + 20)) + b"\0\x7f")
    assert text.splitlines() == [
        "0000000040200030  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|",
        "0000000040200040  51 52 53 54 00 7f                                |QRST..|",
    ]


def test_status_names_come_from_the_protocol():
    assert status_name(0) == "OK"
    assert status_name(-1) == "NOT_SUPPORTED (SMCCC -1)"
    assert status_name(-int(P.Status.NO_PRIVILEGE)) == "NO_PRIVILEGE"
    assert status_name(-99) == "-99"


def event(kind: P.Event, *fields: int) -> bytes:
    return struct.pack("<BBH", kind, 0, 0) + struct.pack(P.EVENT_FIELDS[kind].format, *fields)


def test_a_guest_fault_names_the_vm_and_the_function(tmp_path):
    symbols = Symbolizer()
    symbols.add_guest(2, build_elf(tmp_path))
    payload = event(P.Event.VM_STOPPED, 2, 3, 0x93c08005, 0x40000004, 0x1000, 0x1000)
    assert describe_event(P.Event.VM_STOPPED, payload, symbols, {2: "crasher"}) == (
        "VM 2 (crasher) stopped: fault ESR 0x93c08005 ELR 0x40000004 (_start+0x4) FAR 0x1000 IPA 0x1000")
    off = event(P.Event.VM_STOPPED, 1, 1, 0, 0, 0, 0)
    assert describe_event(P.Event.VM_STOPPED, off, symbols) == "VM 1 stopped: SYSTEM_OFF"


def test_a_stub_fault_is_symbolised_from_the_stub_elf():
    from hvmon.bringup.board_profile import load_profile
    symbols = Symbolizer(load_profile("qemu-virt").image("elf"))
    pc = symbols.stub.address("stub_main") + 0x10
    payload = event(P.Event.FAULT, 0x96000045, pc, 0x8, 0x3c9, 0, 0)
    assert describe_event(P.Event.FAULT, payload, symbols) == (
        f"stub fault: ESR 0x96000045 ELR {pc:#x} (stub_main+0x10) FAR 0x8 SPSR 0x3c9")
    during = event(P.Event.FAULT, 0x96000045, pc, 0x8, 0x3c9, P.Command.JUMP, 7)
    assert describe_event(P.Event.FAULT, during, symbols).startswith(
        "stub fault during JUMP (tag 7): ESR 0x96000045")


def test_lost_bytes():
    payload = event(P.Event.LOST, 0x10, 77)
    assert describe_event(P.Event.LOST, payload, Symbolizer()) == "77 bytes of channel 16 were lost"
    host_made = payload[:1] + bytes([HOST_LOST]) + payload[2:]      # the session's own drops
    assert describe_event(P.Event.LOST, host_made, Symbolizer()) == (
        "77 bytes of channel 16 were not shown: the output did not keep up with the board")


def test_guest_console_lines_are_named_whole_and_free_of_escapes(capsys, tmp_path):
    import time
    from hvmon.ui.commands import Context, GlobalOptions
    from hvmon.ui.userconfig import UserConfig
    ctx = Context(GlobalOptions(), UserConfig(tmp_path / "config.toml"))
    ctx.echo_consoles = True
    ctx.vm_names[1] = "linux"
    ctx.on_console(1, b"hello\r\nwor")
    ctx.on_console(1, b"ld \x1b[1;32mgreen\x1b[0m\n/ # \x1b[6n")
    ctx.on_console(2, b"other\n")
    assert capsys.readouterr().out.splitlines() == ["[linux] hello", "[linux] world green", "[vm2] other"]
    time.sleep(0.6)                        # a prompt with no newline shows once it is quiet
    assert capsys.readouterr().out.splitlines() == ["[linux] / # "]


def test_uart_stats_read_every_field_in_the_protocols_order():
    from hvmon.target.uart_stats import parse_uart_stats
    spec = P.COMMANDS[P.Command.UART_STATS].response
    values = dict(rx_bytes=1 << 40, tx_bytes=7, overruns=1, framing_errors=2, parity_errors=3,
                  breaks=4, rx_ring_overruns=5, fifo_depth=64, depth_source=P.UartDepthSource.REGISTER)
    body = struct.pack(spec.format, *(values[name] for name in spec.names)) + b"16550\0"
    fields = struct.unpack_from(spec.format, body)
    stats = parse_uart_stats(fields, body[struct.calcsize(spec.format):])
    assert stats.as_dict() == {**values, "driver": "16550", "depth_source": "read from the UART"}
    assert stats.errors == 15
    assert str(stats) == ("16550, FIFO depth 64 (read from the UART); 1099511627776 bytes "
                          "received, 7 sent; 1 overruns, 2 framing errors, 3 parity errors, "
                          "4 breaks, 5 bytes lost to a full receive ring")
    unknown = parse_uart_stats(fields[:-1] + (9,), b"pl011\0")
    assert unknown.depth_source == "source 9" and unknown.driver == "pl011"
