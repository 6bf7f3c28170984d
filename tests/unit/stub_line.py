"""A serial port with a stub on the other end for the session's unit tests: it answers
HELLO (after whatever the test puts before the reply) and each request, under the new
session's numbers."""

from __future__ import annotations

import struct
import threading

from hvmon import protocol as P
from hvmon.transport.framing import Frame, FrameDecoder, encode


class StubLine:
    def __init__(self, before_reply: bytes = b""):
        """before_reply: bytes the stub sends after seeing HELLO, before its HELLO_REPLY."""
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
                    self.incoming += self.before_reply + encode(
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
