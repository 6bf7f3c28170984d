"""A board that resets under an idle session is noticed (U-Boot's banner, or the stub's,
where frames should be) and named; a banner that came before the stub's HELLO_REPLY
(the stub starting at its text monitor) is not a reset."""

from __future__ import annotations

import time

import pytest

from hvmon.transport.session import BoardReset, Session
from tests.unit.stub_line import StubLine


def failure_of(session: Session, bound: float = 30.0):
    """The session's failure once the pump has read what was said (bounded so that a
    broken detector fails instead of hanging; not a measure of speed)."""
    deadline = time.monotonic() + bound
    while session.failure is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return session.failure


@pytest.mark.parametrize("text, what", [
    (b"\r\n\r\nU-Boot 2023.01+dfsg-2 (Jan 01 2023)\r\n\r\nDRAM:  1 GiB\r\n", "U-Boot's banner"),
    (b"hvmon 0.1.0 on rk3588 at EL2\r\n", "the stub's banner"),
])
def test_an_idle_session_notices_the_board_reset(text, what):
    line = StubLine(b"\x00")
    session = Session(line, dead_after=60)
    try:
        session.hello(timeout=5, attempts=1)
        line.says(text)
        failure = failure_of(session)
        assert isinstance(failure, BoardReset) and failure.what == what
        assert str(failure) == f"board reset: {what} seen on the line"
        with pytest.raises(BoardReset):
            session.submit(b"a request")
    finally:
        session.close()


def test_the_banner_before_hello_reply_is_not_a_reset():
    line = StubLine(b"hvmon 0.1.0 on qemu-virt at EL2\r\nhvmon> \x00")
    session = Session(line, dead_after=60)
    try:
        session.hello(timeout=5, attempts=1)
        line.says(b"\x00some line noise \xff\xfe\x00")
        # Answered after the noise on the line: had it been taken for a reset, this
        # request would fail instead.
        assert session.submit(b"info").result(10) == b"answer to info"
        assert session.failure is None
    finally:
        session.close()
