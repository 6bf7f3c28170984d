"""Shared test helpers: a QEMU board with the stub brought up through real U-Boot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hvmon.board import Board
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


def start_stub(request, profile: BoardProfile | None = None, qmp: bool = False) -> StubUnderTest:
    """Start QEMU, bring the stub up through U-Boot; the finalizer stops QEMU by its PID."""
    profile = profile or load_profile("qemu-virt")
    out = results_dir(request)
    qemu = QemuBoard(profile, log_path=out / "qemu.log", lifetime=QEMU_LIFETIME)
    if qmp:
        qemu.enable_qmp()
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


def framed(request, stub: StubUnderTest) -> Board:
    """Switch a brought-up stub to framed mode on the same serial connection."""
    trace = open(results_dir(request) / "framed-rx.bin", "wb")
    request.addfinalizer(trace.close)
    board = Board.attach(stub.link.port, trace=trace)
    request.addfinalizer(board.session.close)
    return board


@pytest.fixture(scope="module")
def stub(request) -> StubUnderTest:
    """One stub per test module, shared by its tests."""
    return start_stub(request)


@pytest.fixture
def fresh_stub(request) -> StubUnderTest:
    """A stub of the test's own, for tests that reset or break the board."""
    return start_stub(request)
