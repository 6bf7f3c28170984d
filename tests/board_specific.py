"""Tests that belong to one board are left out of a run on another, each with its reason.

A module (or test) that starts a particular QEMU profile itself, or that is itself a
wrapper running other modules on a given board, says so with
`@pytest.mark.board_specific("starts qemu-virt itself: ...")`. It runs in a run on the
default board (`make test`) and is deselected, never skipped, when `--hvmon-board` names
another one (`make test-16550`): there it would only repeat what the default run does, or
nest a board run inside itself. The other way round, `@pytest.mark.runs_on_board(
"qemu-virt-16550", "reason")` keeps a test to the run on that board: a test that moves a
guest's whole RAM across two stub lines, minutes on the PL011 board, seconds-to-minutes
on the 16550 one, where CI runs it (`make test-16550`) without costing `make test` its
10 minutes. The run prints what it left out and why, under xdist too
(each worker's list reaches the controller through `workeroutput`).
"""

from __future__ import annotations

import pytest

DEFAULT_BOARD = "qemu-virt"     # hvmon.hil.plugin's default, the board of `make test`
OUTPUT_KEY = "board_specific_deselected"


def run_board(config) -> str:
    from hvmon.hil.plugin import settings
    return settings(config).profile.name


class BoardSpecific:
    """Deselects board_specific items on a run whose board is not the default one."""

    def __init__(self):
        self.deselected: dict[str, str] = {}       # nodeid -> reason

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "board_specific(reason): belongs to one board (it "
                                "starts a profile itself, or wraps a run on a board); deselected "
                                "with its reason when --hvmon-board names another "
                                "(tests/board_specific.py)")
        config.addinivalue_line("markers", "runs_on_board(board, reason): runs only in a run on "
                                "that board (`make test-16550` for qemu-virt-16550), deselected "
                                "with its reason elsewhere (tests/board_specific.py)")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        board = run_board(config)
        kept, left = [], []
        for item in items:
            reason = self._left_out(item, board)
            if reason is None:
                kept.append(item)
                continue
            left.append(item)
            self.deselected[item.nodeid] = f"{reason} (run on {board})"
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = kept
        if hasattr(config, "workeroutput"):
            config.workeroutput[OUTPUT_KEY] = dict(self.deselected)

    @staticmethod
    def _left_out(item, board: str) -> str | None:
        """Why item is deselected on this run's board, or None when it runs."""
        specific = item.get_closest_marker("board_specific")
        if specific is not None:
            if not specific.args or not str(specific.args[0]).strip():
                raise pytest.UsageError(f"{item.nodeid}: board_specific needs a reason")
            if board != DEFAULT_BOARD:
                return str(specific.args[0])
        only = item.get_closest_marker("runs_on_board")
        if only is not None:
            if len(only.args) != 2 or not str(only.args[1]).strip():
                raise pytest.UsageError(f"{item.nodeid}: runs_on_board needs a board and a reason")
            if board != only.args[0]:
                return f"runs on {only.args[0]} only: {only.args[1]}"
        return None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        self.deselected.update(getattr(node, "workeroutput", {}).get(OUTPUT_KEY, {}))

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if hasattr(config, "workeroutput") or not self.deselected:
            return
        by_module: dict[str, list[str]] = {}
        for nodeid, reason in sorted(self.deselected.items()):
            module, _, name = nodeid.partition("::")
            by_module.setdefault(f"{module}: {reason}", []).append(name)
        terminalreporter.section("deselected: specific to another board")
        for heading, names in by_module.items():
            terminalreporter.write_line(f"{heading}  [{len(names)} test(s)]")
