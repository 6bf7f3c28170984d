"""Build firmware/arch/aarch64/stage2.c with the host compiler and run its C test
(tests/native/test_stage2.c): a stage-2 mapping is all or nothing (issue 13, hole 2) and
output addresses stay inside the 40 bits a descriptor holds (hole 1).

Non-PIE, so the table pool's host addresses fit in a descriptor's 40 bits as they do on a
board; tests/fuzz/host comes first on the include path for its shadow sysreg.h."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
FIRMWARE = REPO / "firmware"

CFLAGS = [
    "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fno-pie", "-no-pie",
    f"-I{REPO / 'tests' / 'fuzz' / 'host'}",
    f"-I{FIRMWARE / 'arch' / 'aarch64'}",
    f"-I{FIRMWARE / 'lib'}",
]
SOURCES = [
    FIRMWARE / "arch" / "aarch64" / "stage2.c",
    REPO / "tests" / "native" / "test_stage2.c",
]


@pytest.mark.parametrize("blocks", [1, 0])
def test_stage2_mappings_are_all_or_nothing(tmp_path, blocks):
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp_path / "test_stage2"
    build = subprocess.run([cc, *CFLAGS, f"-DBOARD_STAGE2_BLOCKS={blocks}", *map(str, SOURCES),
                            "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, f"build failed:\n{build.stdout}{build.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"exit {run.returncode}:\n{output}"
    assert re.search(r"^test_stage2: all \d+ checks passed$", run.stdout, re.M), output
