"""Reserved memory in the stub's engine built for the host (bench/hoststub): its boot DTB
reserves what a board's firmware would (a /memreserve/ entry, /reserved-memory children
with reg, no-map, or only a size), and every request that touches them is refused with a
reason naming the node, while `info` (text and framed) lists them. No QEMU."""

from __future__ import annotations


import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.board import Board, StubError
from hvmon.target.monitor import TextMonitor
from hvmon.transport.expect import Expect
from hvmon.transport.link import open_link
from hvmon.ui.commands.board_cmds import format_info
from tests.hoststub import running_hoststub

BL31, RAMOOPS, MEMRESERVE = 0x4E000000, 0x4F000000, 0x4D000000
ARGS = ["--reserved", f"bl31@4e000000={BL31:#x},0x200000,no-map",
        "--reserved", f"ramoops@4f000000={RAMOOPS:#x},0x100000",
        "--memreserve", f"{MEMRESERVE:#x},0x10000",
        "--reserved-size", "linux,cma=0x1000000"]

pytestmark = pytest.mark.budget(processes=2)


@pytest.fixture
def hoststub(tmp_path):
    """hoststub with the reservations above, two connections (text, then framed)."""
    with running_hoststub(tmp_path, *ARGS) as engine:
        yield engine


def test_reserved_memory_is_listed_and_never_handed_out(hoststub):
    port = open_link(hoststub.url)
    port.timeout = 0.05
    # pyserial's socket:// drops what arrived before it was open (the start-up banner):
    # ask the monitor instead.
    banner = TextMonitor(Expect(port, None)).command("info")
    port.close()
    assert "rsvd  0x000000004e000000-0x000000004e1fffff /reserved-memory/bl31@4e000000 (no-map)" in banner
    assert "rsvd  0x000000004f000000-0x000000004f0fffff /reserved-memory/ramoops@4f000000\n" in banner
    assert "rsvd  0x000000004d000000-0x000000004d00ffff /memreserve/" in banner
    assert "rsvd  /reserved-memory/linux,cma: 16384 KiB, size only (no reg): not placed" in banner

    with Board.open(hoststub.url) as board:
        info = board.info()
        assert [(r.path, r.base, r.size) for r in info.reserved] == [
            ("/memreserve/", MEMRESERVE, 0x10000),
            ("/reserved-memory/bl31@4e000000", BL31, 0x200000),
            ("/reserved-memory/ramoops@4f000000", RAMOOPS, 0x100000),
            ("/reserved-memory/linux,cma", 0, 0x1000000)]
        assert [r.flags for r in info.reserved] == [
            P.ReservedFlag.MEMRESERVE, P.ReservedFlag.NO_MAP, 0, P.ReservedFlag.DYNAMIC]
        text = format_info(info)
        assert "reserved   0x000000004e000000-0x000000004e1fffff /reserved-memory/bl31@4e000000 (no-map)" in text
        assert "reserved   /reserved-memory/linux,cma: size 0x1000000 only, not placed" in text

        # The stub refuses on its own (the requests go out unchecked by the host) ...
        refusals = [
            (P.Command.MEM_WRITE, (BL31 + 0x1000,), b"x" * 16, "/reserved-memory/bl31@4e000000"),
            (P.Command.MEM_READ, (RAMOOPS + 0xFFFF0, 0x20), b"", "/reserved-memory/ramoops@4f000000"),
            (P.Command.MEM_FILL, (MEMRESERVE - 0x1000, 0x2000, 0), b"", "/memreserve/"),
            (P.Command.MEM_CRC, (BL31 - 0x100, 0x200, 0), b"", "/reserved-memory/bl31@4e000000"),
        ]
        for command, fields, data, name in refusals:
            with pytest.raises(StubError, match=rf"REFUSED_RANGE\): .* overlaps reserved memory {name}"):
                board.call(command, *fields, data=data)
        # ... and the host checks first, so nothing is sent.
        with pytest.raises(ConfigError, match="overlaps reserved memory /reserved-memory/bl31@4e000000"):
            board.write(BL31 + 0x1FF000, b"y" * 0x2000)
        with pytest.raises(ConfigError, match="overlaps reserved memory /memreserve/"):
            board.read(MEMRESERVE, 4)
        # Right beside them, and where the dynamic one has no place, memory is memory.
        board.write(BL31 + 0x200000, b"beside")
        assert board.read(BL31 + 0x200000, 6) == b"beside"
        board.write(MEMRESERVE - 8, b"8 before")
        assert board.crc(0x40000000 + 0x1000000, 0x1000) is not None
