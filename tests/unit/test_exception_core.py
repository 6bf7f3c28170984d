"""Build firmware/arch/aarch64/exception.c for the host with tests/native/test_exception_core.c
and run it: which core a stub fault happens on decides where it goes (issue 13, hole 4).

tests/fuzz/host comes first on the include path: its sysreg.h turns system register
accesses into calls the test answers."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
FIRMWARE = REPO / "firmware"


def test_a_stub_fault_on_a_guest_core_goes_to_the_vmm_not_the_monitor(tmp_path):
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp_path / "test_exception_core"
    includes = [REPO / "tests" / "fuzz" / "host", FIRMWARE / "arch" / "aarch64", FIRMWARE / "lib"]
    build = subprocess.run(
        [cc, "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
         *(f"-I{d}" for d in includes),
         str(FIRMWARE / "arch" / "aarch64" / "exception.c"),
         str(REPO / "tests" / "native" / "test_exception_core.c"), "-o", str(exe)],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
