"""Shared test helpers: a QEMU board with the stub brought up through real U-Boot.

The board fixtures of the hvmon pytest plugin (hvmon.hil, loaded through its entry
point) do the work: `board`, `vm` and `console` for framed tests; the helpers here give
the text-monitor tests their stub, on the plugin's BoardTarget."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from hvmon.board import Board
from hvmon.boards import BoardProfile, load_profile
from hvmon.bringup import BringupResult
from hvmon.expect import Expect
from hvmon.hil.artifacts import folder_for_test
from hvmon.hil.target import BoardTarget
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
    target: BoardTarget | None = None


def results_dir(request) -> Path:
    path = RESULTS / folder_for_test(request.node.nodeid)
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_stub(request, profile: BoardProfile | None = None, qmp: bool = False) -> StubUnderTest:
    """Start QEMU, bring the stub up through U-Boot and leave it at its text monitor; the
    finalizer stops QEMU by its PID. (QMP is always on: `qmp` is kept for callers.)"""
    profile = profile or load_profile("qemu-virt")
    target = BoardTarget(profile, results_dir(request), qemu_options={"lifetime": QEMU_LIFETIME})
    request.addfinalizer(target.stop)
    target.start(framed=False)
    return StubUnderTest(profile, target.qemu, target.link, TextMonitor(target.link),
                         target.bringup, profile.image().read_bytes(), target)


def framed(request, stub: StubUnderTest) -> Board:
    """Switch a brought-up stub to framed mode on the same serial connection."""
    trace = open(results_dir(request) / "framed-rx.bin", "wb")
    request.addfinalizer(trace.close)
    board = Board.attach(stub.link.port, trace=trace)
    request.addfinalizer(board.session.close)
    return board


@pytest.fixture(scope="session", autouse=True)
def block_cache_of_this_run(tmp_path_factory):
    """Board.write's block cache ($XDG_CACHE_HOME/hvmon/blocks) in a folder of the test
    run, not the user's: every run starts cold, and leaves nothing behind."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(scope="module")
def stub(request) -> StubUnderTest:
    """One stub per test module, shared by its tests."""
    return start_stub(request)


@pytest.fixture
def fresh_stub(request) -> StubUnderTest:
    """A stub of the test's own, for tests that reset or break the board."""
    return start_stub(request)
