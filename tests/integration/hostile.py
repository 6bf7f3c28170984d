"""The hostile guest (tests/guests/hostile) in integration tests: built here, so any run
of these tests builds it; a VM config for each attack; the checks after an attack."""

from __future__ import annotations

import re
import subprocess
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from hvmon import protocol as P
from tests.conftest import REPO

SOURCE = REPO / "tests" / "guests" / "hostile"
IMAGE = SOURCE / "build" / "hostile.Image"

HOSTILE_IPA = 0x70000000        # where the guest is linked (its linker.ld)
HOSTILE_PA = 0x60000000         # board RAM after linux.toml's 256 MiB at 0x50000000
HOSTILE_SIZE = 0x400000         # image, marker at +1 MiB, DTB in the last 2 MiB
HOSTILE_CORE = 2                # Linux keeps core 1
LINUX_CORE = 1
MARKER = 0x00005EC0DE000000     # the guest's MARK(n) pattern (main.c)


def build() -> Path:
    subprocess.run(["make", "-s", "-C", str(SOURCE)], check=True)
    return IMAGE


def hostile_config(steps: str, name: str = "hostile", privileged: bool = False,
                   core: int = HOSTILE_CORE) -> dict:
    return {"name": name, "cpus": [core], "privileged": privileged,
            "memory": [{"ipa": HOSTILE_IPA, "size": HOSTILE_SIZE, "pa": HOSTILE_PA}],
            "kernel": str(build()), "cmdline": steps}


def linux_config() -> dict:
    """boards/qemu-virt/linux.toml pinned to core 1 (the plugin preloads its images)."""
    path = REPO / "boards" / "qemu-virt" / "linux.toml"
    data = tomllib.loads(path.read_text())
    for key in ("kernel", "initrd"):
        data[key] = str((path.parent / data[key]).resolve())
    data["cpus"] = [LINUX_CORE]
    return data


def status(name: str) -> int:
    """x0 as the guest sees an hvmon status: -(status) as a 64-bit register."""
    return (-int(P.Status[name])) & (2**64 - 1)


PSCI_INVALID_PARAMETERS = (-2) & (2**64 - 1)
PSCI_ALREADY_ON = (-4) & (2**64 - 1)
SMCCC_UNKNOWN = (2**64 - 1)


def calls(text: str) -> list[tuple[str, int, tuple[int, int, int, int]]]:
    """Each hvc/smc step the guest reported: (verb, function id, (x0, x1, x2, x3))."""
    found = re.findall(r"step (hvc|smc) (0x[0-9a-f]+)\r?\n -> (0x[0-9a-f]+) (0x[0-9a-f]+) "
                       r"(0x[0-9a-f]+) (0x[0-9a-f]+)", text)
    return [(verb, int(fn, 16), tuple(int(x, 16) for x in xs)) for verb, fn, *xs in found]


@dataclass
class StubText:
    """The stub's code and read-only data: what must never change under an attack."""
    base: int
    size: int
    crc: int


def stub_text(board, profile) -> StubText:
    """From the image the board was given (its ELF says where .data starts)."""
    stub = next(r for r in board.info().protected if r.name == "stub")
    with open(profile.image("elf"), "rb") as f:
        size = ELFFile(f).get_section_by_name(".data")["sh_addr"] - stub.base
    return StubText(stub.base, size, zlib.crc32(profile.image().read_bytes()[:size]))
