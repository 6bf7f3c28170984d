"""HELLO restarts both sequences: what the stub sent under the old session's numbers and
that arrives before its HELLO_REPLY must not be taken for the new session's frames."""

from __future__ import annotations

from hvmon import protocol as P
from hvmon.transport.framing import Frame, encode
from hvmon.transport.session import Session
from tests.unit.stub_line import StubLine


# The stub still resends the last host's unacknowledged answer (seq 1) when the new host's
# HELLO arrives, then answers HELLO and each request under the new numbers.
OLD_ANSWER = encode(Frame(P.FrameType.DATA, P.Channel.CONTROL, 1, 2, b"old answer"))


def test_a_frame_of_the_old_session_before_hello_reply_is_not_an_answer():
    session = Session(StubLine(OLD_ANSWER), dead_after=60)
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
