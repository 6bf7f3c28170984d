"""Every test that drives QEMU or a simulated line states its budget from the work it does.

A test says what it moves and boots with `@pytest.mark.budget(...)` (on the module, the
test, or both: the amounts add up); its wall-time budget is computed from the costs below,
each sized for a loaded 2-core machine, not for a fast one. When a budget runs out the
test fails with the budget's breakdown, what the test said it was doing (`doing(...)`)
and where it was (the innermost lines of its stack in the project's code): a slow machine
gets an explanation, never a QEMU killed from outside in the middle of a transfer.

The amounts a marker takes:
    bringups    QEMU boards started and stubs brought up through U-Boot
    boots       Linux guests booted to their shell
    line_bytes  bytes through the QEMU board's serial line (either direction)
    sim_bytes   bytes through a simulated line, with `sim_baud` (default 1.5 Mbaud)
    processes   fresh hvmon / pytest / ser2net processes the test starts
    seconds     anything else the test waits for on purpose (a timeout it provokes)
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What one unit of work may take, with margin for a machine busy with other work.
BASE_S = 30.0               # any test: fixtures, teardown, a few round trips
BRINGUP_S = 60.0            # QEMU start + U-Boot prompt + loady of the ~50 KB stub + booti:
                            # 0.8 s on an idle machine (session 1's note)
BOOT_S = 90.0               # Debian's kernel to the busybox shell under the stub: 3.5 s
                            # idle, 9 s of QEMU CPU while other tests ran
QEMU_LINE_BYTES_PER_S = 10_000.0   # the QEMU board's PL011 took 149 KB/s on one machine,
                            # 88 KB/s on another, 24-43 KB/s beside other tests and 11 KB/s
                            # with the machine's load at 13 (QEMU 7.2 hands it one byte per
                            # main-loop turn): budget for 10 KB/s
SIM_LINE_SHARE = 0.25       # a simulated line carries >= 0.95 of its rate into a receiver
                            # that keeps up, 0.46 at 3 Mbaud with noise beside other work:
                            # budget for 0.25 of it (the host side is Python, CPU-bound)
PROCESS_S = 15.0            # a fresh Python process importing hvmon (and pytest) and connecting

KEYS = ("bringups", "boots", "line_bytes", "sim_bytes", "sim_baud", "processes", "seconds")


@dataclass
class Budget:
    bringups: float = 0
    boots: float = 0
    line_bytes: float = 0
    sim_bytes: float = 0
    sim_baud: float = 1_500_000
    processes: float = 0
    seconds: float = 0
    declared: bool = False
    parts: list[str] = field(default_factory=list)

    def add(self, **amounts) -> None:
        unknown = set(amounts) - set(KEYS)
        if unknown:
            raise pytest.UsageError(f"budget marker: unknown amount(s) {sorted(unknown)}; "
                                    f"known: {', '.join(KEYS)}")
        for key, value in amounts.items():
            if key == "sim_baud":
                self.sim_baud = value
            else:
                setattr(self, key, getattr(self, key) + value)
        self.declared = True

    @property
    def total(self) -> float:
        return sum(cost for _, cost in self.costs())

    def costs(self) -> list[tuple[str, float]]:
        rows = [("base", BASE_S)]
        if self.bringups:
            rows.append((f"{self.bringups:g} bring-up(s)", self.bringups * BRINGUP_S))
        if self.boots:
            rows.append((f"{self.boots:g} Linux boot(s)", self.boots * BOOT_S))
        if self.line_bytes:
            rows.append((f"{self.line_bytes / 1e6:.2f} MB on the QEMU line",
                         self.line_bytes / QEMU_LINE_BYTES_PER_S))
        if self.sim_bytes:
            rate = self.sim_baud / 10 * SIM_LINE_SHARE
            rows.append((f"{self.sim_bytes / 1e6:.2f} MB through a {self.sim_baud / 1e6:g} Mbaud "
                         f"simulated line", self.sim_bytes / rate))
        if self.processes:
            rows.append((f"{self.processes:g} process start(s)", self.processes * PROCESS_S))
        if self.seconds:
            rows.append(("waits the test provokes", self.seconds))
        return rows

    def describe(self) -> str:
        return f"{self.total:.0f} s = " + " + ".join(f"{name} {cost:.0f} s" for name, cost in self.costs())


def budget_of(item) -> Budget:
    budget = Budget()
    for marker in item.iter_markers("budget"):
        budget.add(**marker.kwargs)
    return budget


class BudgetExceeded(Exception):
    """The test used up the time its work was budgeted; the message says what it was doing."""


class Watch:
    """The running test's budget: armed with SIGALRM at setup, disarmed after teardown."""

    def __init__(self):
        self.item = None
        self.budget: Budget | None = None
        self.started = 0.0
        self.phase = ""
        self.activity = ""

    def arm(self, item) -> None:
        self.item, self.budget = item, budget_of(item)
        self.started = time.monotonic()
        self.activity = ""
        if self.budget.declared and _can_alarm():
            signal.signal(signal.SIGALRM, self._expired)
            signal.setitimer(signal.ITIMER_REAL, self.budget.total)

    def disarm(self) -> None:
        if self.budget is not None and self.budget.declared and _can_alarm():
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.item = self.budget = None

    def remaining(self) -> float:
        if self.budget is None or not self.budget.declared:
            return 600.0
        return max(1.0, self.budget.total - (time.monotonic() - self.started))

    def _expired(self, signum, frame) -> None:
        elapsed = time.monotonic() - self.started
        where = _project_frames(frame)
        doing = f"doing: {self.activity}" if self.activity else "doing: (the test did not say)"
        raise BudgetExceeded(
            f"{self.item.nodeid}: ran out of its budget after {elapsed:.0f} s, during {self.phase}; "
            f"{doing}; budget {self.budget.describe()}; at {where}")


WATCH = Watch()


def doing(activity: str) -> None:
    """Say what the test does now; a budget that runs out reports it."""
    WATCH.activity = activity


def remaining() -> float:
    """Seconds left of the running test's budget (for subprocess timeouts inside it)."""
    return WATCH.remaining()


def module_budget(request) -> float:
    """The summed budgets of a module's tests: how long a QEMU shared by them may live."""
    items = [item for item in request.session.items if item.module is request.module]
    return sum(budget_of(item).total for item in items) + BRINGUP_S


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _project_frames(frame) -> str:
    """The innermost few frames that are the project's own code (tests or hvmon)."""
    frames = [f for f in traceback.extract_stack(frame)
              if f.filename.startswith(str(REPO)) and os.sep + ".venv" + os.sep not in f.filename]
    return " <- ".join(f"{Path(f.filename).relative_to(REPO)}:{f.lineno} {f.name}()"
                       for f in reversed(frames[-3:])) or "(outside the project's code)"


def pytest_configure(config):
    config.addinivalue_line("markers", "budget(bringups=, boots=, line_bytes=, sim_bytes=, "
                            "sim_baud=, processes=, seconds=): the work a test does, from which "
                            "its wall-time budget is computed (tests/budget.py)")


def pytest_collection_modifyitems(config, items):
    missing = [item.nodeid for item in items
               if item.get_closest_marker("qemu") and not budget_of(item).declared]
    if missing:
        raise pytest.UsageError("these QEMU tests state no budget (@pytest.mark.budget, "
                                "tests/budget.py):\n  " + "\n  ".join(missing))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    WATCH.arm(item)
    WATCH.phase = "setup (fixtures: QEMU, bring-up, guests)"
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    WATCH.phase = "the test"
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # Teardown stops QEMU and closes links, each bounded on its own: an alarm raised in
    # the middle of it could leave a board running, so the budget ends where it starts.
    WATCH.disarm()
    yield
