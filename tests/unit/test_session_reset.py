"""A board that resets under an idle session is noticed (U-Boot's banner, or the stub's,
where frames should be) and named; a banner that came before the stub's HELLO_REPLY
(the stub starting at its text monitor) is not a reset."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from hvmon import protocol as P
from hvmon.transport.framing import Frame, FrameDecoder, encode
from hvmon.transport.session import BoardReset, Session


class Line:
    """A port with a stub that answers HELLO, after `before_reply` text."""

    def __init__(self, before_reply: bytes = b""):
        self.incoming = bytearray()
        self.before_reply = before_reply
        self.decoder = FrameDecoder()
        self.cond = threading.Condition()
        self.next_seq = 0

    def read(self, size: int) -> bytes:
        with self.cond:
            if not self.incoming:
                self.cond.wait(0.002)
            data, self.incoming[:] = bytes(self.incoming[:size]), self.incoming[size:]
        return data

    def write(self, data: bytes) -> int:
        with self.cond:
            for frame in self.decoder.feed(data):
                if frame.type == P.FrameType.HELLO:
                    reply = struct.pack("<IHHHHI", P.MAGIC, P.VERSION, P.MAX_PAYLOAD, P.WINDOW, 0, 7)
                    self.incoming += self.before_reply + b"\x00" + encode(
                        Frame(P.FrameType.HELLO_REPLY, payload=reply))
                    self.next_seq = 0
                elif frame.type == P.FrameType.DATA:
                    self.incoming += encode(Frame(P.FrameType.DATA, P.Channel.CONTROL,
                                                  self.next_seq, (frame.seq + 1) & 0xFFFF,
                                                  b"answer to " + frame.payload))
                    self.next_seq += 1
            self.cond.notify()
        return len(data)

    def says(self, text: bytes) -> None:
        with self.cond:
            self.incoming += text
            self.cond.notify()


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
    line = Line()
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
    line = Line(before_reply=b"hvmon 0.1.0 on qemu-virt at EL2\r\nhvmon> ")
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
