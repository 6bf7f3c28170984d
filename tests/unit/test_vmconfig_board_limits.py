"""A VM config is checked against what the board has (Board.info()): the INTIDs of its GIC,
the ranges its boot DTB reserves; and against the stub's limits, which come from
protocol/hvmon.toml, not from numbers copied into the host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.board import Reserved
from hvmon.target.vmconfig import load_vm_config
from tests.unit.test_vmconfig import GOOD, PROTECTED, RAM, config, files  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
QEMU_INTIDS = 256            # QEMU virt: GICD_TYPER 0x037a0007, ITLinesNumber 7
BL31 = Reserved(0x7C000000, 0x200000, P.ReservedFlag.NO_MAP, "bl31@7c000000")
RSV = Reserved(0x7A000000, 0x10000, P.ReservedFlag.MEMRESERVE, "/memreserve/")
CMA = Reserved(0, 0x1000000, P.ReservedFlag.DYNAMIC, "linux,cma")


def load(path, **board):
    return load_vm_config(path, RAM, PROTECTED, **board)


def test_an_spi_above_128_is_accepted_where_the_board_has_it(files):
    text = GOOD + "console = { irq = 200 }\n[[passthrough]]\npa = 0x9100000\nsize = 0x1000\nirqs = [255]\n"
    vm = load(config(files, text), gic_intids=QEMU_INTIDS)
    assert vm.console_irq == 200 and vm.passthrough[0].irqs == (255,)


@pytest.mark.parametrize("text, key", [
    (GOOD + "console = { irq = 300 }\n", r"console\.irq"),
    (GOOD + "[[passthrough]]\npa = 0x9100000\nsize = 0x1000\nirqs = [300]\n", r"passthrough\[0\]\.irqs"),
])
def test_an_intid_beyond_the_board_is_refused_naming_its_limit(files, text, key):
    with pytest.raises(ConfigError, match=key + r": INTID 300 is not an SPI of this board: the "
                       r"board's GIC has SPIs 32\.\.255"):
        load(config(files, text), gic_intids=QEMU_INTIDS)


def test_without_a_board_any_gicv3_spi_is_allowed(files):
    assert load(config(files, GOOD + "console = { irq = 365 }\n")).console_irq == 365   # RK3588 UART2
    with pytest.raises(ConfigError, match=r"GICv3 has SPIs 32\.\.1019"):
        load(config(files, GOOD + "console = { irq = 1020 }\n"))


def test_the_vcpu_and_region_limits_are_the_protocols(files, monkeypatch):
    monkeypatch.setattr(P, "MAX_VCPUS", 2)
    with pytest.raises(ConfigError, match=r"cpus: at most 2 vCPUs"):
        load(config(files, GOOD + "cpus = 3\n"))
    monkeypatch.setattr(P, "MAX_REGIONS", 2)
    passthrough = "".join(f"[[passthrough]]\npa = {0x9100000 + i * 0x1000:#x}\nsize = 0x1000\n"
                          for i in range(2))
    with pytest.raises(ConfigError, match=r"passthrough: 1 memory and 2 passthrough regions: "
                       r"the stub maps at most 2 per VM"):
        load(config(files, GOOD + passthrough))


def test_no_limit_is_a_literal_in_the_host_or_the_stub():
    vmconfig = (ROOT / "host/hvmon/target/vmconfig.py").read_text()
    assert not re.search(r"\b(128|at most 4)\b", vmconfig)
    assert "GIC_REDIST_FRAME = P.GICR_FRAME" in vmconfig       # guest_dtb.py takes it from there
    vm_h = (ROOT / "firmware/vmm/vm.h").read_text()
    assert "#define MAX_VCPUS LIMIT_MAX_VCPUS" in vm_h and "#define MAX_REGIONS LIMIT_MAX_REGIONS" in vm_h
    vgic_h = (ROOT / "firmware/arch/aarch64/emul/vgic.h").read_text()
    assert "#define VGIC_MAX_INTIDS LIMIT_MAX_INTIDS" in vgic_h
    assert "#define VGIC_REDIST_FRAME LIMIT_GICR_FRAME" in vgic_h


@pytest.mark.parametrize("pa, name", [(0x7C000000, "/reserved-memory/bl31@7c000000"),
                                      (0x7A000000, "/memreserve/")])
def test_vm_ram_on_reserved_memory_is_refused_naming_the_node(files, pa, name):
    text = GOOD.replace("0x4000000 }", f"0x200000, pa = {pa:#x} }}")
    with pytest.raises(ConfigError, match=rf"memory\[0\]\.pa: .* overlaps reserved memory {name}"):
        load(config(files, text), reserved=(BL31, RSV, CMA))


def test_passthrough_onto_reserved_memory_is_refused(files):
    text = GOOD + "[[passthrough]]\npa = 0x7c100000\nsize = 0x1000\n"
    with pytest.raises(ConfigError, match=r"passthrough\[0\]\.pa: .* reserved memory "
                       r"/reserved-memory/bl31@7c000000"):
        load(config(files, text), reserved=(BL31,))


def test_memory_is_allocated_around_reservations_and_a_dynamic_one_reserves_nothing(files):
    # RAM's top below the boot DTB is 0x7DC00000; bl31 and the memreserve sit below it.
    vm = load(config(files, GOOD.replace("0x4000000 }", "0x3000000 }")), reserved=(BL31, RSV, CMA))
    region = vm.memory[0]
    for r in (BL31, RSV):
        assert not (region.pa < r.end and r.base < region.pa + region.size)
    assert region.pa + region.size <= 0x7A000000
    assert not CMA.enforced and str(CMA) == "/reserved-memory/linux,cma (size 0x1000000, not placed)"
