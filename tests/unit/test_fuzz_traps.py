"""The stub's guest-facing trap handlers (vcpu.c's exit path: hypercalls, guest PSCI, the
vGIC and vPL011 models, trapped SGIs and TLBIs, interrupt exits), compiled for the host
with ASan and UBSan under tests/fuzz/fuzz_traps.c, over its seed corpus and thousands of
generated inputs. The harness aborts when an exit breaks an invariant: a pointer followed
outside the calling VM's own RAM, a privileged hypercall answered to an unprivileged VM,
emulated registers outside their architectural bits, a list register used twice or for an
INTID the guest's GIC lacks, registers changed that the exit does not write, a PSCI
CPU_ON of a core that is not the VM's. `make fuzz` runs the same harness under libFuzzer."""

from __future__ import annotations

import os
import re
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "tests" / "fuzz"
RAM_IPA, SEAM = 0x40000000, 0x40010000          # fuzz_traps.c: the fuzzed VM's two regions
REFUSED_RANGE = (-3) & (2**64 - 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """The replay harness and the seed corpus, built once for the module."""
    out = tmp_path_factory.mktemp("traps")
    made = subprocess.run(["make", "-s", "-C", str(FUZZ), f"OUT={out}", f"{out}/replay_traps",
                           f"{out}/traps_seeds/hvc_echo"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return out / "replay_traps", out / "traps_seeds"


def test_seeds_and_generated_exits_break_no_invariant(built):
    replay, seeds = built
    files = sorted(seeds.iterdir())
    assert len(files) >= 10
    run = subprocess.run([str(replay), "-n4000", *map(str, files)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == f"replay: {4000 + len(files)} inputs, no crash"


def test_the_harness_reaches_the_handlers_it_checks(built):
    """The pointer seed as the harness traces it: a privileged VM's mem_crc of its own RAM
    (zeroed) comes back with zlib's CRC, one across the seam of its two regions is refused."""
    replay, seeds = built
    run = subprocess.run([str(replay), str(seeds / "pointers_privileged")], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "TRAPS_TRACE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    exits = re.findall(r"x0 (0x[0-9a-f]+) -> back x0 (0x[0-9a-f]+|0) x1 (0x[0-9a-f]+|0)",
                       run.stderr)
    crc = [(int(x0, 16), int(x1, 16)) for fn, x0, x1 in exits if int(fn, 16) == 0xC6000004]
    assert crc[0] == (0, zlib.crc32(bytes(0x100)))
    assert crc[1] == (REFUSED_RANGE, SEAM - 0x800)
    assert len(exits) == 20, run.stderr
