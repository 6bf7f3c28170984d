"""Build the 16550 driver against its register model with the host compiler and
run the C test (tests/native/test_uart_16550.c).

tests/native comes first on the include path so its mmio.h, which forwards register
accesses to the model, shadows firmware/drivers/mmio.h.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
NATIVE = REPO / "tests" / "native"
FIRMWARE = REPO / "firmware"

CFLAGS = [
    "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
    f"-I{NATIVE}",
    f"-I{FIRMWARE / 'drivers'}",
    f"-I{FIRMWARE / 'lib'}",          # protocol.h: UART_DEPTH_*
]
# One build per way a board profile can set the driver up; the -D names are what
# firmware/tools/board_config.py makes of [firmware] keys, the MODEL_ ones configure the
# register model, EXPECT_TX_ROOM is the FIFO depth the driver must arrive at, EXPECT_RX_BATCH the bytes
# its receive interrupt waits for.
RK3588 = ["-DBOARD_UART_BASE=0xfeb50000UL", "-DBOARD_UART_REG_SHIFT=2", "-DBOARD_UART_IO_WIDTH=4",
          "-DBOARD_UART_FIFO_DEPTH=16", "-DBOARD_UART_CPR=1",
          "-DMODEL_DW", "-DMODEL_FIFO_DEPTH=64", "-DMODEL_WINDOW=0x100"]
VARIANTS = {
    # DW-APB built with its encoded parameters: CPR.FIFO_MODE = 4, a 64-byte FIFO.
    "rk3588-cpr": RK3588 + ["-DMODEL_CPR=0x00040000u", "-DEXPECT_TX_ROOM=64",
                            "-DEXPECT_DEPTH_SOURCE=UART_DEPTH_REGISTER", "-DBOARD_UART_RX_TRIGGER=0",
                            "-DEXPECT_RX_BATCH=1"],
    # Built without them: CPR reads 0, the profile's 16 stands.
    "rk3588-no-cpr": RK3588 + ["-DMODEL_CPR=0u", "-DEXPECT_TX_ROOM=16",
                               "-DEXPECT_DEPTH_SOURCE=UART_DEPTH_PROFILE", "-DBOARD_UART_RX_TRIGGER=0",
                               "-DEXPECT_RX_BATCH=1"],
    # A trigger at half the FIFO CPR reports: the receive interrupt waits for 32 bytes.
    "rk3588-cpr-half": RK3588 + ["-DMODEL_CPR=0x00040000u", "-DEXPECT_TX_ROOM=64",
                                 "-DEXPECT_DEPTH_SOURCE=UART_DEPTH_REGISTER",
                                 "-DBOARD_UART_RX_TRIGGER=2", "-DEXPECT_RX_BATCH=32"],
    # QEMU's PCI 16550A (boards/qemu-virt-16550): 8-bit registers, 16-byte FIFOs, no DW
    # registers, set up by nobody before the stub.
    "qemu-pci-16550": ["-DBOARD_UART_BASE=0x3eff1000UL", "-DBOARD_UART_REG_SHIFT=0",
                       "-DBOARD_UART_IO_WIDTH=1", "-DBOARD_UART_FIFO_DEPTH=16",
                       "-DBOARD_UART_RX_TRIGGER=3", "-DBOARD_UART_DIVISOR=1",
                       "-DMODEL_UNCONFIGURED", "-DMODEL_FIFO_DEPTH=16", "-DMODEL_WINDOW=8",
                       "-DEXPECT_TX_ROOM=16", "-DEXPECT_DEPTH_SOURCE=UART_DEPTH_PROFILE",
                       "-DEXPECT_RX_BATCH=14"],
}
SOURCES = [
    FIRMWARE / "drivers" / "uart_16550.c",
    NATIVE / "uart_16550_model.c",
    NATIVE / "test_uart_16550.c",
]


def build_and_run(tmp_path, name: str, flags: list[str], sources: list[Path]) -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp_path / name
    build = subprocess.run(
        [cc, *CFLAGS, *flags, *map(str, sources), "-o", str(exe)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, f"build failed:\n{build.stdout}{build.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"exit {run.returncode}:\n{output}"
    return run.stdout


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_uart_16550_against_model(tmp_path, variant):
    out = build_and_run(tmp_path, "test_uart_16550", VARIANTS[variant], SOURCES)
    assert re.search(r"^test_uart_16550: all \d+ checks passed$", out, re.M), out


def test_pci_ecam_serial_finds_and_places_the_uart(tmp_path):
    """drivers/pci_ecam_serial.c against a model of the function's config header, with
    the values of boards/qemu-virt-16550/board.toml."""
    flags = ["-DBOARD_PCI_ECAM_BASE=0x4010000000UL", "-DBOARD_PCI_IO_BASE=0x3eff0000UL",
             "-DBOARD_PCI_IO_SIZE=0x10000UL", "-DBOARD_PCI_UART_BDF=0x8UL",
             "-DBOARD_PCI_UART_ID=0x21b36UL", "-DBOARD_PCI_UART_IO_FALLBACK=0x1000UL"]
    out = build_and_run(tmp_path, "test_pci_ecam_serial", flags,
                        [FIRMWARE / "drivers" / "pci_ecam_serial.c", NATIVE / "test_pci_ecam_serial.c"])
    assert re.search(r"^test_pci_ecam_serial: all \d+ checks passed$", out, re.M), out
