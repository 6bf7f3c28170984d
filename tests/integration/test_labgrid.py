"""Boards shared through labgrid, for real: labgrid's coordinator and exporter (the
installed package's commands) on loopback, the exporter publishing the QEMU board's
serial line (its pty behind ser2net, RFC 2217) as a NetworkSerialPort; labgrid-client
creates a place for it and acquires it. Through that place hvmon brings the stub up via
U-Boot and boots the Linux guest (labgrid's pytest plugin with examples/labgrid-env.yaml,
the example test as written), the hvmon CLI finds the guest with -p labgrid:PLACE, and a
second client is refused while the place is held."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import doing, remaining
from tests.conftest import REPO, qemu_lifetime, results_dir
from tests.integration.labgrid_lab import Lab

# The lab: coordinator, ser2net, exporter, and labgrid-client create/add-match/acquire
# plus the readiness poll; each test adds its own work.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(processes=7)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "starts qemu-virt itself: its one pty, exported through ser2net to a labgrid place; "
    "qemu-virt-16550's stub needs a second line (a TCP one: QemuBoard has no second pty), "
    "which one NetworkSerialPort does not carry and hvmon's labgrid driver cannot name"))

GUEST = REPO / "boards" / "qemu-virt" / "linux.toml"
MATCH = "hvmon-exporter/qemu-board/NetworkSerialPort/console"


@pytest.fixture(scope="module")
def lab(request):
    folder = results_dir(request)
    lifetime = qemu_lifetime(request)
    # The guest's kernel and initramfs put in RAM by QEMU's loader: the strategy's push
    # then only confirms them by CRC (a full push of the 33 MB kernel takes minutes).
    qemu = QemuBoard(load_profile("qemu-virt"), serial="pty", smp=2, lifetime=lifetime,
                     log_path=folder / "qemu.log", extra_args=preload_args(GUEST))
    doing("starting the QEMU board on a pty")
    qemu.start()
    request.addfinalizer(qemu.stop)
    lab = Lab(folder, qemu.pty, lifetime)
    request.addfinalizer(lab.stop)
    doing("starting labgrid's coordinator, ser2net and labgrid's exporter")
    lab.start(timeout=remaining())
    doing("creating and acquiring the place")
    lab.client("-p", lab.place, "create")
    lab.client("-p", lab.place, "add-match", MATCH)
    acquired = lab.client("-p", lab.place, "acquire")
    assert f"acquired place {lab.place}" in acquired.stdout
    return lab


def hvmon(lab: Lab, *args: str, user: str = "hvmon-owner") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hvmon.ui.cli", "-p", f"labgrid:{lab.place}", *args],
                          capture_output=True, text=True, env=lab.env(user),
                          timeout=remaining(), cwd=lab.folder)


@pytest.mark.budget(processes=3)
def test_a_second_client_is_refused_while_the_place_is_held(lab):
    doing("a second user acquiring the held place")
    second = lab.client("-p", lab.place, "acquire", user="hvmon-intruder", check=False)
    assert second.returncode != 0
    assert f"Place {lab.place} is already acquired by hvmon-test/hvmon-owner" in second.stderr

    doing("the second user's hvmon on the held place")
    refused = hvmon(lab, "info", user="hvmon-intruder")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stderr.startswith(f"hvmon: error: -p labgrid:{lab.place}: place {lab.place} "
                                     "is not acquired by your user, acquired by hvmon-owner")

    doing("the place's owner")
    places = lab.client("who")
    assert "hvmon-owner" in places.stdout and lab.place in places.stdout


# One bring-up through U-Boot over RFC 2217 (the stub's 78 KB by loady), one Linux boot,
# the guest images confirmed by CRC lists; an inner pytest and an hvmon process.
@pytest.mark.budget(bringups=1, boots=1, processes=2, line_bytes=300_000)
def test_a_guest_boots_through_the_place(lab):
    doing("pytest --lg-env examples/labgrid-env.yaml: the strategy to `vm`")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--rootdir", str(REPO / "examples"), "--lg-env", str(REPO / "examples" / "labgrid-env.yaml"),
         "--hvmon-results", str(lab.folder / "inner"), "--log-cli-level=INFO",
         str(REPO / "examples" / "labgrid_example.py"), "-v"],
        capture_output=True, text=True, env=lab.env(), timeout=remaining(), cwd=lab.folder)
    (lab.folder / "inner-pytest.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout, run.stdout[-3000:]
    # The driver's log: the stub went in through U-Boot on the place's line.
    assert f"hvmon on rfc2217://127.0.0.1:{lab.serial_port}" in run.stdout, run.stdout[-3000:]
    assert "waiting for the U-Boot prompt" in run.stdout, run.stdout[-3000:]
    assert re.search(r"loady \d+ bytes to 0x40200000", run.stdout), run.stdout[-3000:]

    doing("hvmon -p labgrid:PLACE vm list: the guest the strategy started")
    listed = hvmon(lab, "vm", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "linux" in listed.stdout and "running" in listed.stdout, listed.stdout
