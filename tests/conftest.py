"""Shared test helpers: a QEMU board with the stub brought up through real U-Boot.

The board fixtures of the hvmon pytest plugin (hvmon.hil, loaded through its entry
point) do the work: `board`, `vm` and `console` for framed tests; the helpers here give
the text-monitor tests their stub, on the plugin's BoardTarget."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from hvmon.bringup.board_profile import BoardProfile
from hvmon.bringup.bring_up import BringupResult
from hvmon.bringup.qemu import QemuBoard
from hvmon.hil.artifacts import folder_for_test
from hvmon.hil.target import BoardTarget
from hvmon.target.board import Board
from hvmon.target.monitor import TextMonitor
from hvmon.transport.expect import Expect
# The budget plugin's hooks (tests/budget.py): every QEMU test states the work it does.
from tests.board_specific import BoardSpecific
from tests.budget import (BRINGUP_S, budget_of, module_budget, pytest_collection_modifyitems,  # noqa: F401
                          pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown)
from tests.budget import pytest_configure as configure_budgets

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
QEMU_LIFETIME = 900     # seconds: the backstop for QEMU boards a test starts itself


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a pytest run inside a test: without this run's xdist worker
    variables, which would make the inner run take itself for a worker of ours (its
    board folder, its pool entry)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env.update(extra)
    return env


def qemu_lifetime(request) -> float:
    """How long a test's own QEMU may live: its tests' budgets and a bring-up more, so the
    budget (which says what the test was doing) always runs out before QEMU is killed."""
    if request.scope == "module":
        return module_budget(request)
    return budget_of(request.node).total + BRINGUP_S


@dataclass
class StubUnderTest:
    profile: BoardProfile
    qemu: QemuBoard
    link: Expect
    monitor: TextMonitor
    bringup: BringupResult
    image: bytes
    target: BoardTarget | None = None


def run_profile(request) -> BoardProfile:
    """The board profile of this run: --hvmon-board (default qemu-virt). The integration
    modules run on every QEMU board profile this way (`make test-16550`)."""
    from hvmon.hil.plugin import settings
    return settings(request.config).profile


def results_dir(request) -> Path:
    path = RESULTS / folder_for_test(request.node.nodeid)
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_stub(request, profile: BoardProfile | None = None, qmp: bool = False) -> StubUnderTest:
    """Start QEMU, bring the stub up through U-Boot and leave it at its text monitor; the
    finalizer stops QEMU by its PID. (QMP is always on: `qmp` is kept for callers.)"""
    profile = profile or run_profile(request)
    target = BoardTarget(profile, results_dir(request), qemu_options={"lifetime": qemu_lifetime(request)})
    request.addfinalizer(target.stop)
    target.start(framed=False)
    return StubUnderTest(profile, target.qemu, target.link, TextMonitor(target.link),
                         target.bringup, profile.image().read_bytes(), target)


def stub_line_address(stub: StubUnderTest) -> tuple[str, int]:
    """Where QEMU serves the stub's own line: serial0, or the line of its own a profile
    such as qemu-virt-16550 gives it (U-Boot stays on serial0 there)."""
    return ("127.0.0.1", stub.qemu.stub_port or stub.qemu.port)


def framed(request, stub: StubUnderTest) -> Board:
    """Switch a brought-up stub to framed mode on the same serial connection."""
    trace = open(results_dir(request) / "framed-rx.bin", "wb")
    request.addfinalizer(trace.close)
    board = Board.attach(stub.link.port, trace=trace)
    request.addfinalizer(board.session.close)
    return board


def pytest_configure(config):
    configure_budgets(config)
    # Modules of one board are left out, with their reasons, of a run on another board.
    config.pluginmanager.register(BoardSpecific(), "hvmon-board-specific")


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


def pytest_sessionstart(session):
    """labgrid's pytest plugin (installed with the labgrid extra) serves `--lg-env` runs.
    Without an environment its setup hook fails every test with a parameter named
    `strategy` (hypothesis strategies here), so the project's own runs leave it out; the
    labgrid test runs it in a pytest of its own (tests/integration/test_labgrid.py)."""
    manager = session.config.pluginmanager
    plugin = manager.get_plugin("labgrid")
    if plugin is not None and not session.config.getoption("lg_env", None):
        manager.unregister(plugin)
