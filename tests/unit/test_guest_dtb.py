"""The guest DTB cutter on every RK3588 board DTB Debian's 6.12 kernel ships (cached by
scripts/fetch-guest.sh): `dtc` reads each result back without a warning, the CPU nodes
are the pinned cores', the console is a PL011 made at the config's IPA, and no reference
points at a node that is gone."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from hvmon.errors import ConfigError
from hvmon.target.board import Range
from hvmon.target.dtb_refs import dangling
from hvmon.target.fdt_tree import Tree
from hvmon.target.guest_dtb import cut_guest_dtb
from hvmon.target.vmconfig import Layout, vm_config_from_dict

REPO = Path(__file__).resolve().parents[2]
ROCKCHIP = REPO / "cache" / "guest" / "rockchip"
# `make test` fetches them first (make guest); missing ones fail the tests that need them.
RK3588_DTBS = sorted(ROCKCHIP.glob("rk3588*.dtb")) or [ROCKCHIP / "rk3588-missing-run-make-guest.dtb"]
LAYOUT = Layout(0x40000000, 0x40000000, 0x42000000, 0x42100000, 0x4FE00000)
UART2, CONSOLE_IRQ = 0xFEB50000, 65



def test_debians_rk3588_dtbs_are_in_the_cache():
    assert RK3588_DTBS[0].is_file(), f"no RK3588 DTBs in {ROCKCHIP}: run `make guest`"
    assert len(RK3588_DTBS) >= 3


def vm(tmp_path, **keys):
    kernel = tmp_path / "Image"
    kernel.write_bytes(b"\0" * 64)
    data = {"name": "g", "cpus": [1], "memory": [{"ipa": 0x40000000, "size": 0x10000000}],
            "kernel": str(kernel), "console": {"ipa": UART2, "irq": CONSOLE_IRQ}} | keys
    return vm_config_from_dict(data, base=tmp_path, ram=(Range(0, 1 << 40, "ram"),))


def dtc_warnings(blob: bytes) -> str:
    run = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", "-o", "/dev/null", "-"], input=blob,
                         capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    return run.stderr.decode()


@pytest.mark.parametrize("dtb", RK3588_DTBS, ids=lambda p: p.stem)
@pytest.mark.parametrize("cpus", [[1], [4, 1, 7]], ids=["one-core", "three-cores"])
def test_every_rk3588_dtb_cuts_to_a_guest_dtb_dtc_accepts(tmp_path, dtb, cpus):
    cut = cut_guest_dtb(dtb.read_bytes(), vm(tmp_path, cpus=cpus), LAYOUT, 0x100000, source=dtb.name)
    assert dtc_warnings(cut.blob) == ""
    tree = Tree(cut.blob)
    assert dangling(tree) == []
    assert sorted(p[1:] for p in tree.children("/")) == sorted(
        ["aliases", "chosen", "clock-uart", "cpus", "interrupt-controller@fe600000", "memory@40000000",
         "psci", f"serial@{UART2:x}", "timer"])
    gic = "/interrupt-controller@fe600000"
    assert tree.children(gic) == []                             # no ITS, no PPI partitions
    assert tree.reg(gic, 2, 2) == [(0xFE600000, 0x10000), (0xFE680000, len(cpus) * 0x20000)]
    assert (cut.gic_dist, cut.gic_redist) == (0xFE600000, 0xFE680000)


def test_the_cpu_nodes_are_the_pinned_cores_renumbered_as_the_guest_sees_them(tmp_path):
    rock = ROCKCHIP / "rk3588-rock-5b.dtb"
    board = Tree(rock.read_bytes())
    cut = cut_guest_dtb(rock.read_bytes(), vm(tmp_path, cpus=[5, 2]), LAYOUT, 0)
    tree = Tree(cut.blob)
    # Physical core 5 is the sixth cpu@ node (cpu@0 is the boot core); its MPIDR 0x500.
    assert cut.cpus_from == ("/cpus/cpu@500", "/cpus/cpu@200")
    assert tree.children("/cpus") == ["/cpus/cpu@0", "/cpus/cpu@1"]     # vCPU order
    for index, source in enumerate(cut.cpus_from):
        node = f"/cpus/cpu@{index}"
        assert tree.cells(node, "reg") == [index]                       # VMPIDR_EL2 Aff0
        assert tree.compatible(node) == board.compatible(source)        # a76, then a55
        assert tree.strings(node, "enable-method") == ["psci"]
        for gone in ("clocks", "cpu-supply", "operating-points-v2", "next-level-cache",
                     "cpu-idle-states", "i-cache-size", "d-cache-size", "#cooling-cells"):
            assert tree.get(node, gone) is None, gone


def test_a_count_of_cpus_takes_the_cores_the_stub_picks(tmp_path, qemu_like_dtb):
    cut = cut_guest_dtb(qemu_like_dtb, vm(tmp_path, cpus=2, console={"ipa": 0x9000000, "irq": 33}),
                        LAYOUT, 0)
    assert cut.cpus_from == ("/cpus/cpu@1", "/cpus/cpu@2")


def test_a_core_the_board_lacks_is_named(tmp_path, qemu_like_dtb):
    with pytest.raises(ConfigError, match=r"<dict g>: cpus: core 7 is not in the board DTB .*cores 0-3"):
        cut_guest_dtb(qemu_like_dtb, vm(tmp_path, cpus=[7]), LAYOUT, 0)


def test_the_console_is_a_pl011_made_at_the_config_ipa_with_the_config_interrupt(tmp_path):
    rock = ROCKCHIP / "rk3588-rock-5b.dtb"
    cut = cut_guest_dtb(rock.read_bytes(), vm(tmp_path), LAYOUT, 0x100000)
    tree = Tree(cut.blob)
    node = f"/serial@{UART2:x}"
    assert cut.console == node
    assert tree.compatible(node) == ["arm,pl011", "arm,primecell"]
    assert tree.reg(node, 2, 2) == [(UART2, 0x1000)]
    # The RK3588's GIC has #interrupt-cells = 4: SPI, INTID - 32, level high, partition 0.
    assert tree.cells(node, "interrupts") == [0, CONSOLE_IRQ - 32, 4, 0]
    clock = tree.by_phandle(tree.cells(node, "clocks")[0])
    assert tree.compatible(clock) == ["fixed-clock"]
    assert tree.strings("/chosen", "stdout-path") == [node]
    assert tree.props("/aliases") == {"serial0": node.encode() + b"\0"}          # ttyAMA0
    assert struct.unpack(">Q", tree.get("/chosen", "linux,initrd-start")) == (LAYOUT.initrd_ipa,)


def test_a_board_pl011_at_the_console_ipa_is_kept(tmp_path, qemu_like_dtb):
    cut = cut_guest_dtb(qemu_like_dtb, vm(tmp_path, console={"ipa": 0x9000000, "irq": 40}), LAYOUT, 0)
    tree = Tree(cut.blob)
    assert cut.console == "/pl011@9000000"
    assert not tree.exists("/clock-uart")
    assert tree.cells(cut.console, "interrupts") == [0, 8, 4]
    assert tree.compatible(tree.by_phandle(tree.cells(cut.console, "clocks")[0])) == ["fixed-clock"]


def test_the_config_may_place_the_vgic(tmp_path, qemu_like_dtb):
    config = vm(tmp_path, console={"ipa": 0x9000000, "irq": 33},
                gic={"distributor": 0x3000000, "redistributor": 0x3100000})
    cut = cut_guest_dtb(qemu_like_dtb, config, LAYOUT, 0)
    tree = Tree(cut.blob)
    assert tree.reg("/intc@3000000", 2, 2) == [(0x3000000, 0x10000), (0x3100000, 0x20000)]
    assert (cut.gic_dist, cut.gic_redist) == (0x3000000, 0x3100000)


def test_a_gic_over_the_guest_memory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"gic.distributor: IPA range overlaps memory\[0\]"):
        vm(tmp_path, gic={"distributor": 0x40000000, "redistributor": 0x3100000})


@pytest.fixture
def qemu_like_dtb(tmp_path) -> bytes:
    """A QEMU-virt-shaped board: 4 CPUs, a 3-cell GICv3 with an ITS, a PL011 with a fixed
    clock, a clock controller the guest does not get."""
    source = tmp_path / "board.dts"
    source.write_text("""/dts-v1/;
/ {
    #address-cells = <2>; #size-cells = <2>; interrupt-parent = <&gic>;
    compatible = "linux,dummy-virt";
    cpus { #address-cells = <1>; #size-cells = <0>;
        cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a76"; reg = <0>; clocks = <&cru 1>; };
        cpu@1 { device_type = "cpu"; compatible = "arm,cortex-a76"; reg = <1>; };
        cpu@2 { device_type = "cpu"; compatible = "arm,cortex-a76"; reg = <2>; };
        cpu@3 { device_type = "cpu"; compatible = "arm,cortex-a76"; reg = <3>; };
    };
    gic: intc@8000000 { compatible = "arm,gic-v3"; interrupt-controller; #interrupt-cells = <3>;
        #address-cells = <2>; #size-cells = <2>; ranges;
        reg = <0 0x8000000 0 0x10000>, <0 0x80a0000 0 0xf60000>;
        its@8080000 { compatible = "arm,gic-v3-its"; msi-controller; reg = <0 0x8080000 0 0x20000>; };
    };
    pclk: apb-pclk { compatible = "fixed-clock"; #clock-cells = <0>; clock-frequency = <24000000>; };
    cru: clock-controller@1000 { compatible = "vendor,cru"; #clock-cells = <1>; reg = <0 0x1000 0 0x1000>; };
    pl011@9000000 { compatible = "arm,pl011", "arm,primecell"; reg = <0 0x9000000 0 0x1000>;
        interrupts = <0 1 4>; clocks = <&pclk>, <&pclk>; clock-names = "uartclk", "apb_pclk"; };
    timer { compatible = "arm,armv8-timer"; interrupts = <1 13 4>, <1 14 4>, <1 11 4>, <1 10 4>; };
    memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x40000000>; };
    chosen { stdout-path = "/pl011@9000000"; };
};
""")
    out = tmp_path / "board.dtb"
    subprocess.run(["dtc", "-I", "dts", "-O", "dtb", "-o", str(out), str(source)], check=True,
                   capture_output=True)
    return out.read_bytes()
