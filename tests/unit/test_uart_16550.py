"""Build the DW-APB 16550 driver against its register model with the host compiler and
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
    "-DBOARD_UART_BASE=0xfeb50000UL",
    "-DBOARD_UART_REG_SHIFT=2",
]
SOURCES = [
    FIRMWARE / "drivers" / "uart_16550.c",
    NATIVE / "uart_16550_model.c",
    NATIVE / "test_uart_16550.c",
]


def test_uart_16550_against_model(tmp_path):
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp_path / "test_uart_16550"
    build = subprocess.run(
        [cc, *CFLAGS, *map(str, SOURCES), "-o", str(exe)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, f"build failed:\n{build.stdout}{build.stderr}"

    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"exit {run.returncode}:\n{output}"
    assert re.search(r"^test_uart_16550: all \d+ checks passed$", run.stdout, re.M), output
