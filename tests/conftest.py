"""Shared test helpers: a QEMU board with the stub brought up through real U-Boot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hvmon.boards import BoardProfile, load_profile
from hvmon.bringup import BringupResult, bring_up
from hvmon.expect import Expect
from hvmon.link import open_link
from hvmon.monitor import TextMonitor
from hvmon.qemu import QemuBoard

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
QEMU_LIFETIME = 900     # seconds: no QEMU of a test run outlives a stuck test by much


@dataclass
class StubUnderTest:
    profile: BoardProfile
    qemu: QemuBoard
    link: Expect
    monitor: TextMonitor
    bringup: BringupResult
    image: bytes


def results_dir(request) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    path = RESULTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_stub(request, profile: BoardProfile | None = None) -> StubUnderTest:
    """Start QEMU, bring the stub up through U-Boot; the finalizer stops QEMU by its PID."""
    profile = profile or load_profile("qemu-virt")
    out = results_dir(request)
    qemu = QemuBoard(profile, log_path=out / "qemu.log", lifetime=QEMU_LIFETIME)
    qemu.start()
    request.addfinalizer(qemu.stop)
    serial_log = open(out / "serial.log", "wb")
    request.addfinalizer(serial_log.close)
    port = open_link(qemu.url)
    request.addfinalizer(port.close)
    link = Expect(port, serial_log)
    result = bring_up(link, profile)
    return StubUnderTest(profile, qemu, link, TextMonitor(link), result,
                         profile.image().read_bytes())


@pytest.fixture(scope="module")
def stub(request) -> StubUnderTest:
    """One stub per test module, shared by its tests."""
    return start_stub(request)


@pytest.fixture
def fresh_stub(request) -> StubUnderTest:
    """A stub of the test's own, for tests that reset or break the board."""
    return start_stub(request)
