"""The console's expect API (pytest-embedded's on hvmon): lists of patterns, literal text,
forbidden patterns and the text before a match, on a console buffer filled by hand."""

from __future__ import annotations

import pytest

from hvmon.hil.console import Console, ConsoleTimeout


class FakeBoard:
    def __init__(self):
        self.consoles = {0: bytearray()}
        self.session = None

    def say(self, text: bytes) -> None:
        self.consoles[0] += text


def test_a_list_returns_which_pattern_came_first_and_before_is_the_text_skipped():
    board = FakeBoard()
    console = Console(board, 0, "linux")
    board.say(b"login: the (1+1) shell\n/ # ")
    index, match = console.expect([r"/ # ", r"login: "], timeout=1)
    assert (index, match.group()) == (1, b"login: ") and console.before == ""
    assert console.expect_exact("(1+1)", timeout=1).group() == b"(1+1)"
    assert console.before == "the "
    assert console.expect_exact(["#", "/ #"], timeout=1)[0] == 1       # earlier start wins
    assert console.index == 1 and console.before == " shell\n"


def test_not_matching_fails_at_once_naming_what_showed_up():
    board = FakeBoard()
    console = Console(board, 0, "linux")
    board.say(b"Kernel panic - not syncing\n/ # ")
    with pytest.raises(ConsoleTimeout, match=r"console of linux: 'Kernel panic' showed up while "
                                             r"waiting for '/ # '"):
        console.expect(r"/ # ", timeout=30, not_matching=[r"Kernel panic"])
    board.say(b"later: ok\n")
    console.cursor = len(board.consoles[0]) - len(b"later: ok\n")
    assert console.expect(r"ok", timeout=1, not_matching="panic").group() == b"ok"


def test_a_timeout_names_every_pattern():
    console = Console(FakeBoard(), 0, "linux")
    with pytest.raises(ConsoleTimeout, match=r"no \['a', 'b'\] within 0.1 s"):
        console.expect(["a", "b"], timeout=0.1)
