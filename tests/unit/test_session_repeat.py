"""Selective repeat in the host's session: the NAKs it sends name the frames it already
holds, and a NAK from the stub gets every missing frame sent again, and only those."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from hvmon import protocol as P
from hvmon.transport.framing import Frame, FrameDecoder, encode
from hvmon.transport.session import Session


class QuietPort:
    """A serial port on which the stub says nothing unless the test feeds it."""

    def __init__(self):
        self.written = bytearray()
        self.incoming = bytearray()
        self.lock = threading.Lock()

    def read(self, size: int) -> bytes:
        time.sleep(0.002)
        with self.lock:
            data, self.incoming[:] = bytes(self.incoming[:size]), self.incoming[size:]
        return data

    def write(self, data: bytes) -> int:
        with self.lock:
            self.written += data
        return len(data)

    def feed(self, frame: Frame) -> None:
        with self.lock:
            self.incoming += encode(frame)

    def frames_written(self) -> list[Frame]:
        with self.lock:
            data, self.written[:] = bytes(self.written), b""
        return list(FrameDecoder().feed(data))


@pytest.fixture
def session():
    port = QuietPort()
    s = Session(port, dead_after=60)
    s.test_port = port
    yield s
    s.close()


def wait_for(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_nak_names_the_frames_already_held(session):
    port = session.test_port
    for seq in (1, 3):                       # frame 0 and 2 lost on the way
        port.feed(Frame(P.FrameType.DATA, P.Channel.CONTROL, seq, 0, b"r%d" % seq))
    # One NAK at the first gap, then again every 150 ms while it lasts.
    wait_for(lambda: session.stats["naks_out"] >= 2)
    naks = [f for f in port.frames_written() if f.type == P.FrameType.NAK]
    assert all(nak.ack == 0 for nak in naks)
    assert struct.unpack("<I", naks[0].payload)[0] == 0b1        # at once: 1 is here
    assert struct.unpack("<I", naks[-1].payload)[0] == 0b101     # later: 1 and 3


def test_a_nak_with_held_frames_resends_the_missing_ones_below_the_highest(session):
    port = session.test_port
    futures = [session.submit(b"request %d" % i) for i in range(6)]
    wait_for(lambda: len(port.written) > 0)
    sent = port.frames_written()
    assert [f.seq for f in sent if f.type == P.FrameType.DATA] == list(range(6))
    with session.lock:
        session.srtt = 0.02                  # a round trip has passed since they went out
    time.sleep(0.05)

    def after_nak(held: bytes, retransmits: int) -> list[int]:
        port.feed(Frame(P.FrameType.NAK, ack=0, payload=held))
        wait_for(lambda: session.stats["retransmits"] >= retransmits)
        time.sleep(0.05)
        return [f.seq for f in port.frames_written() if f.type == P.FrameType.DATA]

    # The stub waits for 0 and holds 1 and 3: 0 and 2 go again; 4 and 5 may be on their way.
    assert after_nak(struct.pack("<I", 0b101), 2) == [0, 2]
    # The same NAK again within a round trip: 2 may still be on its way, the oldest goes.
    with session.lock:
        session.srtt = 10.0
    assert after_nak(struct.pack("<I", 0b101), 3) == [0]
    # An empty NAK (an older stub) asks for the oldest only.
    assert after_nak(b"", 4) == [0]
    for future in futures:
        future.cancel()


def test_a_stub_that_keeps_asking_for_a_frame_is_not_declared_lost():
    """Four timed-out resends and dead_after without an acknowledgement, but the stub's
    NAKs keep coming: it is alive on a slow line, not gone."""
    port = QuietPort()
    s = Session(port, dead_after=0.3)
    try:
        future = s.submit(b"request")
        wait_for(lambda: len(port.written) > 0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:          # RTO 0.4-2 s: several timeouts pass
            port.feed(Frame(P.FrameType.NAK, ack=0, payload=struct.pack("<I", 0)))
            time.sleep(0.1)
        with s.lock:
            s.retries = max(s.retries, 4)           # as many resends as death needs
        port.feed(Frame(P.FrameType.NAK, ack=0, payload=struct.pack("<I", 0)))
        time.sleep(0.2)
        assert s.failure is None
        port.feed(Frame(P.FrameType.DATA, P.Channel.CONTROL, 0, 1, b"answer"))
        assert future.result(2.0) == b"answer"
    finally:
        s.close()


def test_a_silent_stub_is_still_declared_lost():
    port = QuietPort()
    s = Session(port, dead_after=0.3)
    try:
        future = s.submit(b"request")
        with pytest.raises(Exception, match="stopped acknowledging"):
            future.result(15.0)                     # RTO backs off 1, 2, 2, 2 s: 4 resends
    finally:
        s.close()
