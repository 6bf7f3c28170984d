"""What the board's boot DTB reserves and how many INTIDs its GIC has, on the QEMU board.

U-Boot adds what TF-A, OP-TEE and ramoops reserve on an RK3588 to the DTB the stub is
started with (`[uboot] before_boot`: fdt mknode/set and fdt rsvmem before booti). The
stub must list those reservations (text and framed info) and refuse every request and VM
region that touches them, naming the node. QEMU virt's GICD_TYPER is 0x037a0007
(ITLinesNumber 7: 256 INTIDs), so SPI 200 fits the board and 300 does not."""

from __future__ import annotations

import dataclasses

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.board import StubError
from hvmon.target.vmconfig import vm_config_from_dict
from hvmon.ui.commands.board_cmds import format_info
from tests.conftest import framed, run_profile, start_stub

# One bring-up with the reservations; a few requests of small data each way.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, line_bytes=100_000)]

BL31, RAMOOPS, MEMRESERVE = 0x4E000000, 0x4F000000, 0x4D000000   # clear of stub and guests
RESERVE = (
    "fdt addr $fdtcontroladdr",               # QEMU's DTB: 1 MiB, room for these in place
    "fdt mknode / reserved-memory",
    "fdt set /reserved-memory '#address-cells' <2>",
    "fdt set /reserved-memory '#size-cells' <2>",
    "fdt set /reserved-memory ranges",
    "fdt mknode /reserved-memory bl31@4e000000",
    "fdt set /reserved-memory/bl31@4e000000 reg <0x0 0x4e000000 0x0 0x200000>",
    "fdt set /reserved-memory/bl31@4e000000 no-map",
    "fdt mknode /reserved-memory ramoops@4f000000",
    "fdt set /reserved-memory/ramoops@4f000000 reg <0x0 0x4f000000 0x0 0x100000>",
    "fdt mknode /reserved-memory linux,cma",
    "fdt set /reserved-memory/linux,cma size <0x0 0x1000000>",
    "fdt rsvmem add 0x4d000000 0x10000",
)
BOARD_LIMIT = r"its GIC has SPIs 32\.\.255 \(GICD_TYPER\.ITLinesNumber 7\)"


@pytest.fixture(scope="module")
def stub(request):
    profile = run_profile(request)      # U-Boot's DTB edits are the same on every QEMU board
    profile = dataclasses.replace(profile, uboot=dataclasses.replace(profile.uboot, before_boot=RESERVE))
    return start_stub(request, profile)


@pytest.fixture(scope="module")
def board(request, stub):
    return framed(request, stub)


def create_vm(board, name: str, console_irq: int = 33) -> int:
    # gicd_ipa, gicr_ipa 0: the vGIC where the board's GIC is.
    (vm,), _ = board.call(P.Command.VM_CREATE, 1, 0, console_irq, 0x09000000, 0, 0x40000000,
                          0x40000000, 0, 0, data=name.encode())
    return vm


def test_the_text_monitor_lists_reservations_and_intids(stub):
    banner = stub.bringup.banner.replace("\r\n", "\n")
    assert "rsvd  0x000000004e000000-0x000000004e1fffff /reserved-memory/bl31@4e000000 (no-map)\n" in banner
    assert "rsvd  0x000000004f000000-0x000000004f0fffff /reserved-memory/ramoops@4f000000\n" in banner
    assert "rsvd  0x000000004d000000-0x000000004d00ffff /memreserve/\n" in banner
    assert "rsvd  /reserved-memory/linux,cma: 16384 KiB, size only (no reg): not placed" in banner
    assert "GIC   INTIDs 0-255 (GICD_TYPER 0x037a0007): SPIs 32-255 can go to guests" in banner


def test_framed_info_lists_them(board):
    info = board.info()
    assert info.gic_intids == 256
    found = {r.path: (r.base, r.size, r.flags) for r in info.reserved}
    assert found == {"/reserved-memory/bl31@4e000000": (BL31, 0x200000, P.ReservedFlag.NO_MAP),
                     "/reserved-memory/ramoops@4f000000": (RAMOOPS, 0x100000, 0),
                     "/reserved-memory/linux,cma": (0, 0x1000000, P.ReservedFlag.DYNAMIC),
                     "/memreserve/": (MEMRESERVE, 0x10000, P.ReservedFlag.MEMRESERVE)}
    text = format_info(info)                   # what `hvmon info` prints
    assert "reserved   0x000000004e000000-0x000000004e1fffff /reserved-memory/bl31@4e000000 (no-map)" in text
    assert "GIC        INTIDs 0-255" in text


@pytest.mark.parametrize("command, fields, data, name", [
    (P.Command.MEM_WRITE, (BL31 + 0x1000,), b"x" * 16, "/reserved-memory/bl31@4e000000"),
    (P.Command.MEM_READ, (RAMOOPS + 0xFFFF0, 0x20), b"", "/reserved-memory/ramoops@4f000000"),
    (P.Command.MEM_FILL, (MEMRESERVE - 0x1000, 0x2000, 0), b"", "/memreserve/"),
    (P.Command.MEM_CRC, (BL31 - 0x100, 0x200, 0), b"", "/reserved-memory/bl31@4e000000"),
    (P.Command.MEM_INFLATE, (RAMOOPS, 16, 8, 0, 0), b"", "/reserved-memory/ramoops@4f000000"),
])
def test_memory_requests_that_touch_them_are_refused_naming_the_node(board, command, fields, data, name):
    with pytest.raises(StubError, match=rf"REFUSED_RANGE\): 0x[0-9a-f]+\+0x[0-9a-f]+ overlaps "
                       rf"reserved memory {name} "):
        board.call(command, *fields, data=data)


def test_the_host_checks_first_and_memory_beside_them_is_memory(board):
    with pytest.raises(ConfigError, match="overlaps reserved memory /reserved-memory/ramoops@4f000000"):
        board.write(RAMOOPS - 0x800, bytes(0x1000))
    board.write(BL31 + 0x200000, b"beside bl31")
    assert board.read(BL31 + 0x200000, 11) == b"beside bl31"


def test_vm_regions_on_reserved_memory_are_refused(board):
    vm = create_vm(board, "rsv")
    try:
        with pytest.raises(StubError, match="overlaps reserved memory /reserved-memory/bl31@4e000000"):
            board.call(P.Command.VM_MAP, vm, 0, 0x40000000, BL31, 0x200000)
        with pytest.raises(StubError, match="overlaps reserved memory /memreserve/"):
            board.call(P.Command.VM_MAP, vm, 0, 0x40000000, MEMRESERVE & ~0x1FFFFF, 0x1000000)
        board.call(P.Command.VM_MAP, vm, 0, 0x40000000, BL31 + 0x200000, 0x200000)
    finally:
        board.call(P.Command.VM_DESTROY, vm)
    info = board.info()
    config = {"name": "rsv", "kernel": __file__,
              "memory": [{"ipa": 0x40000000, "size": 0x200000, "pa": RAMOOPS}]}
    with pytest.raises(ConfigError, match=r"memory\[0\]\.pa: .* overlaps reserved memory "
                       "/reserved-memory/ramoops@4f000000"):
        vm_config_from_dict(config, ram=info.ram, protected=info.protected, reserved=info.reserved,
                            gic_intids=info.gic_intids)


def test_an_spi_above_128_is_accepted_where_the_board_has_it_and_refused_beyond(board):
    with pytest.raises(StubError, match=r"BAD_REQUEST\): console irq 300 is not an SPI of this "
                       rf"board: {BOARD_LIMIT}"):
        create_vm(board, "big", console_irq=300)
    vm = create_vm(board, "big", console_irq=200)
    try:
        board.call(P.Command.VM_IRQ, vm, 201)
        for intid in (300, 1019, 1020):
            with pytest.raises(StubError, match=rf"interrupt {intid} is not an SPI of this board: "
                               f"{BOARD_LIMIT}"):
                board.call(P.Command.VM_IRQ, vm, intid)
    finally:
        board.call(P.Command.VM_DESTROY, vm)
    info = board.info()
    config = {"name": "big", "kernel": __file__, "console": {"irq": 300},
              "memory": [{"ipa": 0x40000000, "size": 0x200000, "pa": 0x52000000}]}
    with pytest.raises(ConfigError, match=r"console\.irq: INTID 300 is not an SPI of this board: "
                       r"the board's GIC has SPIs 32\.\.255"):
        vm_config_from_dict(config, ram=info.ram, protected=info.protected, gic_intids=info.gic_intids)
