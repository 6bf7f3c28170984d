"""Callbacks for what the stub sends on its own (console, log, events) run off the pump
thread: one that raises fails the session at once with its message, one that blocks does
not stop acknowledgements or answers, one that types into a console does not deadlock,
and one that cannot keep up loses deliveries (counted and reported), never memory or
the Board's buffers."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from hvmon import protocol as P
from hvmon.errors import HvmonError
from hvmon.target.board import Board
from hvmon.transport.framing import Frame
from hvmon.transport.session import Session
from tests.unit.test_session_repeat import QuietPort, wait_for

CONSOLE = P.Channel.CONSOLE_BASE + 1
PROMPT = 2.0                 # "at once": far below the 120 s a request used to wait


class Stub:
    """The stub's side of the sequence numbers, fed into a QuietPort frame by frame."""

    def __init__(self, port: QuietPort):
        self.port = port
        self.seq = 0

    def send(self, channel: int, payload: bytes, ack: int = 0) -> None:
        self.port.feed(Frame(P.FrameType.DATA, channel, self.seq, ack, payload))
        self.seq = (self.seq + 1) & 0xFFFF


@pytest.fixture
def released():
    """Set at teardown, so a callback that blocks on it lets its thread end."""
    event = threading.Event()
    yield event
    event.set()


def open_session(**callbacks) -> tuple[Session, QuietPort, Stub]:
    port = QuietPort()
    return Session(port, dead_after=60, **callbacks), port, Stub(port)


def written_data(port: QuietPort) -> list[Frame]:
    return [f for f in port.frames_written() if f.type == P.FrameType.DATA]


def test_a_raising_console_callback_fails_the_session_at_once_with_its_message():
    def on_stream(channel, data):
        raise ValueError("the console callback choked on " + data.decode())

    session, port, stub = open_session(on_stream=on_stream)
    try:
        waiting = session.submit(b"request")             # a caller waits for an answer
        stub.send(CONSOLE, b"hello")
        started = time.monotonic()
        with pytest.raises(HvmonError, match="choked on hello") as raised:
            waiting.result(PROMPT)
        assert time.monotonic() - started < PROMPT
        assert isinstance(raised.value.__cause__, ValueError)
        assert "choked on hello" in str(session.failure)
        with pytest.raises(HvmonError, match="choked on hello"):
            session.submit(b"another")                   # later requests fail the same way
    finally:
        session.close()


def test_a_blocked_callback_stops_neither_acknowledgements_nor_answers(released):
    blocked = threading.Event()

    def on_stream(channel, data):                        # stdout that nobody reads
        blocked.set()
        released.wait(30)

    session, port, stub = open_session(on_stream=on_stream)
    try:
        stub.send(CONSOLE, b"login: ")
        assert blocked.wait(PROMPT)
        answer: list = []
        # Submitted from another thread: on the old code the pump holds the session's lock
        # inside the callback, and submit itself would hang this test.
        asker = threading.Thread(target=lambda: answer.append(session.submit(b"info")), daemon=True)
        asker.start()
        asker.join(PROMPT)
        assert answer, "submit did not return while a callback was blocked"
        wait_for(lambda: any(f.channel == P.Channel.CONTROL for f in written_data(port)), PROMPT)
        stub.send(P.Channel.CONTROL, b"info answer", ack=1)
        assert answer[0].result(PROMPT) == b"info answer"
        # Both frames from the stub are acknowledged while the callback still blocks.
        wait_for(lambda: session.rx_expected == 2, PROMPT)
        assert blocked.is_set() and not released.is_set()
    finally:
        released.set()
        session.close()


def test_a_callback_that_types_into_the_console_does_not_deadlock():
    echoed = threading.Event()
    holder: dict = {}

    def on_stream(channel, data):                        # echo what the guest asked for
        holder["session"].send_stream(channel, b"answer to " + data)
        echoed.set()

    session, port, stub = open_session(on_stream=on_stream)
    holder["session"] = session
    try:
        stub.send(CONSOLE, b"question")
        assert echoed.wait(PROMPT), "the callback's console write never returned"
        wait_for(lambda: any(f.payload == b"answer to question" for f in port.frames_written()
                             if f.type == P.FrameType.DATA and f.channel == CONSOLE), PROMPT)
    finally:
        session.close()


def test_a_board_whose_console_callback_writes_to_the_console_does_not_deadlock():
    port = QuietPort()
    board = Board(None)
    board.session = board._start_session(port)
    stub = Stub(port)
    typed = threading.Event()

    def on_console(vm, data):
        board.console_write(vm, b"root\n")
        typed.set()

    board.on_console = on_console
    try:
        stub.send(CONSOLE, b"login: ")
        assert typed.wait(PROMPT)
        assert board.consoles[1] == b"login: "
    finally:
        board.close()


def test_a_board_keeps_every_byte_while_its_callback_cannot_keep_up(released):
    """Deliveries beyond the dispatcher's bound are dropped and reported as a LOST event
    (as the stub does), while Board.consoles (filled on the pump) keeps every byte."""
    port = QuietPort()
    board = Board(None)
    board.session = board._start_session(port)
    board.session.dispatch_limit = 1000
    stub = Stub(port)
    shown = bytearray()
    events: list[tuple[int, bytes]] = []
    board.on_console = lambda vm, data: (released.wait(30), shown.extend(data))
    board.on_event = lambda event, payload: events.append((event, payload))
    try:
        chunks = [bytes([65 + i % 26]) * 200 for i in range(20)]
        for chunk in chunks:
            stub.send(CONSOLE, chunk)
        wait_for(lambda: board.session.rx_expected == len(chunks), PROMPT)
        assert board.consoles[1] == b"".join(chunks)     # recorded while the callback blocks
        released.set()
        wait_for(lambda: events, PROMPT)
        (event, payload), = events
        channel, lost = struct.unpack_from("<II", payload, P.PAYLOAD_HEADER)
        assert event == P.Event.LOST and channel == CONSOLE
        assert len(shown) + lost == sum(map(len, chunks)) and 0 < len(shown) <= 1200
        assert b"".join(chunks).startswith(bytes(shown))
        assert board.session.failure is None
    finally:
        released.set()
        board.close()


def test_an_attached_terminal_shows_each_console_byte_once(released):
    """terminal.attach_console's echo: bytes already in the buffer when it is set, and
    deliveries the dispatcher dropped while the terminal was blocked, are shown once."""
    import io

    from hvmon.ui.terminal import console_echo

    port = QuietPort()
    board = Board(None)
    board.session = board._start_session(port)
    board.session.dispatch_limit = 1000
    stub = Stub(port)
    out = io.BytesIO()
    try:
        stub.send(CONSOLE, b"before attach ")
        wait_for(lambda: board.session.rx_expected == 1, PROMPT)
        echo = console_echo(board, 1, out)
        echo(1, b"")                                     # what attach_console shows first
        gate = threading.Event()
        board.on_console = lambda vm, data: (gate.set(), released.wait(30), echo(vm, data))
        chunks = [bytes([65 + i % 26]) * 200 for i in range(20)]
        for chunk in chunks:
            stub.send(CONSOLE, chunk)
        wait_for(lambda: board.session.rx_expected == 1 + len(chunks), PROMPT)
        assert gate.wait(PROMPT)
        released.set()
        everything = b"before attach " + b"".join(chunks)
        wait_for(lambda: out.getvalue() == everything, PROMPT)
    finally:
        released.set()
        board.close()


def test_a_test_waiting_on_a_console_hears_of_a_raising_callback_at_once():
    from hvmon.hil.console import Console, ConsoleTimeout

    port = QuietPort()
    board = Board(None)
    board.session = board._start_session(port)
    stub = Stub(port)

    def on_console(vm, data):
        raise SystemExit("the console callback exited")

    board.on_console = on_console
    console = Console(board, 1, "linux")
    try:
        stub.send(CONSOLE, b"Linux version 6.1\r\n")
        started = time.monotonic()
        with pytest.raises(ConsoleTimeout, match="link lost.*the console callback exited"):
            console.expect(r"/ # ", timeout=30)
        assert time.monotonic() - started < PROMPT
        assert board.consoles[1] == b"Linux version 6.1\r\n"
    finally:
        board.close()
