"""Build the EL2 stage-1 table builder (firmware/arch/aarch64/el2_mmu.c) with the host
compiler and run its C test (tests/native/test_el2_mmu.c): descriptors computed for the
QEMU board's and an RK3588-like RAM map, walked and checked for memory type, permissions,
block size and identity output, and the go/JUMP execute window.

tests/fuzz/host comes first on the include path: its sysreg.h and cache.h shadow the
firmware's (system registers become values the test controls; no cache instructions).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
FIRMWARE = REPO / "firmware"

CFLAGS = [
    "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
    f"-I{REPO / 'tests' / 'fuzz' / 'host'}",
    f"-I{FIRMWARE / 'arch' / 'aarch64'}",
    f"-I{FIRMWARE / 'lib'}",
]
SOURCES = [
    FIRMWARE / "arch" / "aarch64" / "el2_mmu.c",
    FIRMWARE / "lib" / "print.c",
    REPO / "tests" / "native" / "test_el2_mmu.c",
]


def test_el2_stage1_tables_for_both_boards(tmp_path):
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp_path / "test_el2_mmu"
    build = subprocess.run([cc, *CFLAGS, *map(str, SOURCES), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, f"build failed:\n{build.stdout}{build.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"exit {run.returncode}:\n{output}"
    assert re.search(r"^test_el2_mmu: all \d+ checks passed$", run.stdout, re.M), output
