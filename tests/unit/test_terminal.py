"""The tmux terminals the integration tests type into: several opened and closed at once,
as xdist workers do, none fails to start and none leaves its tmux socket behind."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.terminal import Terminal

# Two workers opening and at once closing 40 terminals each: with one tmux server shared by
# all of them, 3 to 9 of these failed with "server exited unexpectedly" (a worker's close had
# just ended the server that the other worker's `new-session` was connecting to).
WORKERS = 2
TERMINALS_EACH = 40


def open_and_close(worker: int) -> list[str]:
    failures = []
    for n in range(TERMINALS_EACH):
        try:
            term = Terminal(f"hvmon-unit-{worker}", ["true"])
        except AssertionError as failure:
            failures.append(f"terminal {n} of worker {worker}: {failure}")
            continue
        term.close()
    return failures


@pytest.mark.budget(processes=WORKERS * TERMINALS_EACH / 10)
def test_terminals_opened_and_closed_at_once_all_start():
    with ThreadPoolExecutor(WORKERS) as pool:
        failures = [failure for worker in pool.map(open_and_close, range(WORKERS))
                    for failure in worker]
    assert failures == []


@pytest.mark.budget(processes=1)
def test_a_terminal_shows_its_command_and_how_it_ended():
    term = Terminal("hvmon-unit", [sys.executable, "-c", "print('from-the-command'); raise SystemExit(3)"],
                    env={"HVMON_MARK": "a b"})
    try:
        assert term.wait(r"^from-the-command\nterminal-exited-3$", timeout=20)
    finally:
        term.close()
    assert not term.folder.exists(), "close() left the terminal's tmux socket behind"
