"""Build the PL011 driver against its register model with the host compiler and run
the C test of its counters and FIFO depth (tests/native/test_uart_pl011.c)."""
import re

from tests.unit.test_uart_16550 import CFLAGS, FIRMWARE, NATIVE, build_and_run

# boards/qemu-virt/board.toml's UART.
FLAGS = ["-DBOARD_UART_BASE=0x09000000UL"]
SOURCES = [FIRMWARE / "drivers" / "uart_pl011.c", NATIVE / "uart_pl011_model.c",
           NATIVE / "test_uart_pl011.c"]


def test_uart_pl011_counts_against_model(tmp_path):
    assert f"-I{NATIVE}" in CFLAGS          # the model's mmio.h shadows the firmware's
    out = build_and_run(tmp_path, "test_uart_pl011", FLAGS, SOURCES)
    assert re.search(r"^test_uart_pl011: all \d+ checks passed$", out, re.M), out
