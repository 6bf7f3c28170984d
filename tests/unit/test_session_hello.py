"""HELLO restarts both sequences: what the stub sent under the old session's numbers and
that arrives before its HELLO_REPLY must not be taken for the new session's frames."""

from __future__ import annotations

import struct
import threading

from hvmon import protocol as P
from hvmon.transport.framing import Frame, FrameDecoder, encode
from hvmon.transport.session import Session


class StubAfterHangup:
    """A port whose stub still resends the last host's unacknowledged answer (seq 1) when
    the new host's HELLO arrives, then answers HELLO and each request under the new
    numbers."""

    def __init__(self):
        self.incoming = bytearray()
        self.decoder = FrameDecoder()
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
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
                    stale = Frame(P.FrameType.DATA, P.Channel.CONTROL, 1, 2, b"old answer")
                    reply = struct.pack("<IHHHHI", P.MAGIC, P.VERSION, P.MAX_PAYLOAD, P.WINDOW, 0, 7)
                    self.incoming += encode(stale) + encode(Frame(P.FrameType.HELLO_REPLY, payload=reply))
                    self.next_seq = 0
                elif frame.type == P.FrameType.DATA:
                    answer = Frame(P.FrameType.DATA, P.Channel.CONTROL, self.next_seq,
                                   (frame.seq + 1) & 0xFFFF, b"answer to " + frame.payload)
                    self.next_seq += 1
                    self.incoming += encode(answer)
            self.cond.notify()
        return len(data)


def test_a_frame_of_the_old_session_before_hello_reply_is_not_an_answer():
    session = Session(StubAfterHangup(), dead_after=60)
    try:
        session.hello(timeout=5, attempts=1)
        # Kept, the stale seq 1 would be delivered after the first answer and the real
        # second answer dropped as a duplicate: the second request would never complete.
        assert session.submit(b"first").result(5) == b"answer to first"
        assert session.submit(b"second").result(5) == b"answer to second"
        assert session.stats["stale_in"] == 1
        assert session.stats["duplicates_in"] == 0
    finally:
        session.close()
