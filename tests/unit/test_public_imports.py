"""The imports README.md shows keep working whatever the package's inner layout."""

import hvmon.board
from hvmon.target import board as target_board


def test_hvmon_board_is_the_target_board_api():
    for name in hvmon.board.__all__:
        assert getattr(hvmon.board, name) is getattr(target_board, name)


def test_readme_names():
    from hvmon.board import Board, StubError  # noqa: F401  (README: "From Python")
    from hvmon.errors import BoardRefused
    assert issubclass(StubError, BoardRefused)


def test_entry_points_resolve():
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="hvmon")
    (plugin,) = entry_points(group="pytest11", name="hvmon")
    assert script.load().__module__ == "hvmon.ui.cli"
    assert plugin.load().__name__ == "hvmon.hil.plugin"
