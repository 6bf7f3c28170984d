"""The reliable host session over a serial line (protocol/spec.md).

One pump thread owns the port: it reads and decodes frames, acknowledges the stub's
frames, sends queued requests while the window has room, and retransmits (go-back-N)
on NAK or timeout. Callers submit request payloads and get futures for the responses,
which the stub sends in request order.

What the stub sends on its own (guest consoles, its log, events) is handed to a second
thread, the dispatcher, which runs the callbacks (on_stream, on_event) in the order the
frames arrived. The pump itself only moves bytes, so a callback that blocks (a stdout
nobody reads) does not stop acknowledgements or answers, and one that writes to a console
(send_stream) or even waits for a request does not deadlock. A callback that raises fails
the session with its message: every caller waiting for an answer gets the error at once.
Only `record` runs on the pump: quick bookkeeping such as Board's buffers.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import struct
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import serial

from .. import protocol as P
from ..errors import HvmonError, LinkError, StepTimeout
from . import framing
from .framing import Frame

RTO_MIN, RTO_MAX, RTO_INITIAL = 0.4, 2.0, 1.0
DEAD_RETRIES = 4          # retransmissions of one frame before silence means "gone"
NAK_REPEAT = 0.15         # while a gap in the stub's frames persists, ask again this often
READ_BLOCK = 16384
# Stream bytes (and events) waiting for the dispatcher at most: 8 s of a 1.5 Mbaud line.
# Beyond it deliveries are dropped and counted, and the callbacks get an EVENT LOST (its
# flags byte HOST_LOST) once they catch up, as the stub reports its own drops. Not
# acknowledging instead would stall every channel, answers included (the sequence and
# its acknowledgements are shared by all channels), and make the stub drop the bytes
# anyway, its buffers being bounded too. `record` has seen every byte that was dropped.
DISPATCH_LIMIT = 1 << 20
HOST_LOST = 1               # a LOST event made by the host: its dispatcher's drops


class LinkLost(LinkError):
    """The stub stopped acknowledging, or the board reset under the session."""


class BoardReset(LinkLost):
    """Text that only a board starting afresh prints (U-Boot's banner, the stub's) came
    where frames should be: the stub this session spoke to is gone, whatever the port
    does. `what` names the banner, for the one line that says so."""

    def __init__(self, what: str):
        super().__init__(f"board reset: {what} seen on the line")
        self.what = what


# What a board starting afresh prints, and how to say it. A stub that restarts (a real
# board that boots it from storage) prints its banner before its first prompt.
STUB_BANNER = "the stub's banner"
RESET_BANNERS = ((re.compile(rb"U-Boot 20\d\d"), "U-Boot's banner"),
                 (re.compile(rb"hvmon \S+ on \S+ at EL\d\r?\n"), STUB_BANNER))


class CallbackFailed(LinkError):
    """A callback for the stub's stream data or events raised: the session is failed, as
    for a lost link (the exception it raised is the __cause__)."""


@dataclass(frozen=True)
class HelloReply:
    protocol_version: int
    max_payload: int
    window: int
    boot_id: int


@dataclass
class _Outstanding:
    frame: Frame
    sent_at: float
    retransmitted: bool = False

    @property
    def seq(self) -> int:
        return self.frame.seq


class Session:
    def __init__(self, port: serial.SerialBase, *, on_stream: Callable[[int, bytes], None] | None = None,
                 on_event: Callable[[int, bytes], None] | None = None, dead_after: float = 5.0,
                 trace=None, record: Callable[[int, bytes], None] | None = None):
        """on_stream(channel, data) and on_event(event, payload) run on the dispatcher
        thread; record(channel, payload), for every stream and EVENT frame, on the pump
        thread before it is acknowledged: it must be quick and must not block or call
        into the session."""
        self.port = port
        self.on_stream = on_stream or (lambda channel, data: None)
        self.on_event = on_event or (lambda event, payload: None)
        self.record = record
        self.dead_after = dead_after
        self.trace = trace                          # optional binary file: raw bytes received
        self.decoder = framing.FrameDecoder()
        self.window = P.WINDOW
        self.lock = threading.Lock()
        self.queue: collections.deque[tuple[bytes, Future | None, int]] = collections.deque()
        self.unacked: collections.deque[_Outstanding] = collections.deque()
        self.waiting: collections.deque[Future] = collections.deque()   # responses, in order
        self.tx_next = 0
        self.rx_expected = 0
        self.reorder: dict[int, Frame] = {}
        self.ack_due = False
        self.nak_for: int | None = None
        self.nak_sent_at = 0.0
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = RTO_INITIAL
        self.last_progress = time.monotonic()
        self.retries = 0
        self.hello_future: Future | None = None
        self.failure: HvmonError | None = None
        self.stats = collections.Counter()
        self.running = True
        # The dispatcher's queue: (channel, payload) in arrival order, its stream bytes,
        # and what was dropped beyond dispatch_limit, per channel, not yet reported.
        self.dispatch_limit = DISPATCH_LIMIT
        self.deliveries: collections.deque[tuple[int, bytes]] = collections.deque()
        self.delivery_bytes = 0
        self.undelivered: dict[int, int] = {}
        self.delivery_ready = threading.Condition(threading.Lock())
        self.dispatcher = threading.Thread(target=self._dispatch, name="hvmon-callbacks", daemon=True)
        self.dispatcher.start()
        self.thread = threading.Thread(target=self._pump, name="hvmon-session", daemon=True)
        self.thread.start()

    # --- the caller's side -------------------------------------------------------------

    def hello(self, timeout: float = 5.0, attempts: int = 5) -> HelloReply:
        """Start a session; the stub may be in its text monitor or already framed."""
        for _ in range(attempts):
            future: Future = Future()
            with self.lock:
                self.failure = None
                self._reset_sequences()
                self.hello_future = future
                payload = struct.pack("<IH", P.MAGIC, P.VERSION)
                self._write(b"\x00" + framing.encode(Frame(P.FrameType.HELLO, payload=payload)))
            try:
                return future.result(timeout / attempts)
            except TimeoutError:
                continue
        noise = self.decoder.noise[-200:].decode(errors="replace").strip()
        raise StepTimeout("hello", "HELLO_REPLY from the stub", timeout,
                          noise or "(nothing received)")

    def submit(self, payload: bytes) -> Future:
        """Queue one request payload; the future gets the response payload."""
        future: Future = Future()
        with self.lock:
            if self.failure:
                raise self.failure
            self.queue.append((payload, future, P.Channel.CONTROL))
            self._send_new()
        return future

    def send_stream(self, channel: int, data: bytes) -> None:
        """Bytes for a stream channel (a guest's console input): sequenced and reliable like
        requests, but nothing answers them."""
        with self.lock:
            if self.failure:
                raise self.failure
            for i in range(0, len(data), P.MAX_PAYLOAD):
                self.queue.append((data[i:i + P.MAX_PAYLOAD], None, channel))
            self._send_new()

    def pending(self) -> int:
        with self.lock:
            return len(self.queue) + len(self.waiting)

    def close(self) -> None:
        """Stop the pump; the dispatcher runs what already arrived, then ends too."""
        self.running = False
        self.thread.join(2)
        with self.delivery_ready:
            self.delivery_ready.notify()
        if threading.current_thread() is not self.dispatcher:
            self.dispatcher.join(2)

    # --- the pump thread ---------------------------------------------------------------

    def _reset_sequences(self) -> None:
        """HELLO restarts both sequences. Requests still unanswered belong to the old
        session: they fail, and the caller decides whether to send them again."""
        for future in self.waiting:
            if not future.done():
                future.set_exception(LinkLost("session restarted by HELLO before the stub answered"))
        self.waiting.clear()
        self.unacked.clear()
        self.tx_next = 0
        self.rx_expected = 0
        self.reorder.clear()
        self.nak_for = None
        self.last_progress = time.monotonic()

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            self._fail(LinkLost(f"serial link broke: {exc}"))

    def _send_frame(self, frame: Frame) -> bytes:
        wire = framing.encode(frame)
        self._write(wire)
        self.ack_due = False
        return wire

    def _pump(self) -> None:
        while self.running:
            try:
                # Ask for a large block: pyserial's socket:// reports at most 1 byte
                # waiting, and a byte per iteration cannot keep up with the line. The
                # port's short timeout bounds how long this waits.
                data = self.port.read(READ_BLOCK)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if self.running:
                    self._fail(LinkLost(f"serial link broke: {exc}"))
                return
            with self.lock:
                try:
                    self._turn(data)
                except Exception as exc:     # a bug here must not end the pump unheard
                    self._fail(LinkLost(f"the session's pump failed: {type(exc).__name__}: {exc}"))
                    self.running = False
                    raise

    def _turn(self, data: bytes) -> None:
        if data:
            if self.trace:
                self.trace.write(data)
            for frame in self.decoder.feed(data):
                self._on_frame(frame)
            self._check_reset_banner()
        self._send_new()
        self._check_timers()
        if self.ack_due:
            self.stats["acks_out"] += 1
            self._send_frame(Frame(P.FrameType.ACK, ack=self.rx_expected))

    def _on_frame(self, frame: Frame) -> None:
        self.stats["frames_in"] += 1
        if frame.type == P.FrameType.HELLO_REPLY:
            magic, version, max_payload, window, _, boot_id = struct.unpack_from("<IHHHHI", frame.payload)
            if self.hello_future and not self.hello_future.done() and magic == P.MAGIC:
                self.window = min(window, P.WINDOW)
                self.decoder.noise.clear()      # text from before (a banner) is not a reset
                self.hello_future.set_result(HelloReply(version, max_payload, window, boot_id))
            return
        if self.hello_future is not None and not self.hello_future.done():
            # Sent before the stub saw our HELLO: the old session's numbering (its timer
            # resending an answer whose acknowledgement the last host never got through).
            # Kept, such a frame would sit in the reorder buffer and later stand in for
            # the new session's frame of that number, whose answer would then be dropped
            # as a duplicate.
            self.stats["stale_in"] += 1
            return
        self._take_ack(frame.ack)
        if frame.type == P.FrameType.NAK:
            self.stats["naks_in"] += 1
            # A NAK proves the stub alive and listening. On a slow, noisy line (QEMU's PL011
            # on a loaded machine) a resend waits behind a window of frames and is damaged
            # about half the time at a bit-error rate of 2e-5 on 4 KiB frames, so four in a
            # row can take longer than dead_after: slowness, not death. Frames that never
            # get through are bounded by each request's own timeout.
            self.last_progress = time.monotonic()
            if self.unacked and self.unacked[0].seq == frame.ack:
                held = struct.unpack_from("<I", frame.payload)[0] if len(frame.payload) >= 4 else 0
                self._resend_missing(held)
            return
        if frame.type != P.FrameType.DATA:
            return
        # Frames from the stub prove it alive even when its acknowledgements of ours keep
        # getting damaged on the way (a noisy line towards the host during a long read).
        self.last_progress = time.monotonic()
        ahead = (frame.seq - self.rx_expected) & 0xFFFF
        if ahead >= P.WINDOW or frame.seq in self.reorder:
            # Behind the window (its acknowledgement was lost) or already held: the stub
            # sent it twice. Acknowledged again, delivered once.
            self.ack_due = True
            self.stats["duplicates_in"] += 1
            return
        self.reorder[frame.seq] = frame
        while self.rx_expected in self.reorder:      # deliver in sequence order
            self._deliver(self.reorder.pop(self.rx_expected))
            self.rx_expected = (self.rx_expected + 1) & 0xFFFF
            self.ack_due = True
        if self.reorder and self.nak_for != self.rx_expected:
            self.nak_for = self.rx_expected          # a gap: ask at once, then every NAK_REPEAT
            self._send_nak()

    def _send_nak(self) -> None:
        """NAK the awaited frame; its payload says which later ones are already here (bit i:
        rx_expected + 1 + i), so the stub can send every missing one at once."""
        held = 0
        for seq in self.reorder:
            ahead = (seq - self.rx_expected - 1) & 0xFFFF
            if ahead < 32:
                held |= 1 << ahead
        self.stats["naks_out"] += 1
        self.nak_sent_at = time.monotonic()
        self._send_frame(Frame(P.FrameType.NAK, ack=self.rx_expected, payload=struct.pack("<I", held)))

    def _deliver(self, frame: Frame) -> None:
        if frame.channel == P.Channel.CONTROL:
            if self.waiting:
                future = self.waiting.popleft()
                if not future.done():
                    future.set_result(frame.payload)
            return
        if self.record is not None:
            try:
                self.record(frame.channel, frame.payload)
            except BaseException as exc:
                self._fail(_callback_failed("record", exc))
        self._queue_delivery(frame.channel, frame.payload)

    # --- the dispatcher thread ---------------------------------------------------------

    def _queue_delivery(self, channel: int, payload: bytes) -> None:
        """On the pump: never waits for the dispatcher (see DISPATCH_LIMIT)."""
        with self.delivery_ready:
            if self.delivery_bytes and self.delivery_bytes + len(payload) > self.dispatch_limit:
                self.undelivered[channel] = self.undelivered.get(channel, 0) + len(payload)
                self.stats["undelivered_bytes"] += len(payload)
                return
            self._report_undelivered()               # the loss comes before what follows it
            self.deliveries.append((channel, payload))
            self.delivery_bytes += len(payload)
            self.delivery_ready.notify()

    def _report_undelivered(self) -> None:
        """A LOST event for each channel that lost deliveries (delivery_ready held)."""
        for channel, count in self.undelivered.items():
            fields = struct.pack(P.EVENT_FIELDS[P.Event.LOST].format, channel, count)
            event = struct.pack("<BBH", P.Event.LOST, HOST_LOST, 0) + fields
            self.deliveries.append((P.Channel.EVENT, event))
            self.delivery_bytes += len(event)
        self.undelivered.clear()

    def _dispatch(self) -> None:
        while True:
            with self.delivery_ready:
                while not self.deliveries:
                    if self.undelivered:
                        self._report_undelivered()
                        continue
                    if not self.running:
                        return
                    self.delivery_ready.wait(0.5)
                channel, payload = self.deliveries.popleft()
                self.delivery_bytes -= len(payload)
            if isinstance(self.failure, CallbackFailed):
                continue                             # until a new HELLO: calls back no more
            try:
                if channel == P.Channel.EVENT:
                    self.on_event(payload[0] if payload else 0, payload)
                else:
                    self.on_stream(channel, payload)
            except BaseException as exc:             # SystemExit too: never end this thread
                with self.lock:
                    self._fail(_callback_failed(_channel_name(channel), exc))

    def _take_ack(self, ack: int) -> None:
        progressed = False
        now = time.monotonic()
        while self.unacked and ((ack - self.unacked[0].seq) & 0xFFFF) - 1 < len(self.unacked) \
                and ack != self.unacked[0].seq:
            done = self.unacked.popleft()
            progressed = True
            if not done.retransmitted:               # Karn: time only clean round trips
                self._sample_rtt(now - done.sent_at)
        if progressed:
            self.last_progress = now
            self.retries = 0

    def _sample_rtt(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(RTO_MAX, max(RTO_MIN, self.srtt + 4 * self.rttvar))

    def _send_new(self) -> None:
        while self.queue and len(self.unacked) < self.window:
            payload, future, channel = self.queue.popleft()
            seq = self.tx_next
            self.tx_next = (self.tx_next + 1) & 0xFFFF
            frame = Frame(P.FrameType.DATA, channel, seq, self.rx_expected, payload)
            self._send_frame(frame)
            if not self.unacked:
                self.last_progress = time.monotonic()
            self.unacked.append(_Outstanding(frame, time.monotonic()))
            if future is not None:
                self.waiting.append(future)
            self.stats["frames_out"] += 1

    def _resend_missing(self, held: int) -> None:
        """The oldest frame, and every one below the highest the stub says it holds (held
        bit i: unacked[1 + i]) that it does not: frames above that may still be on the way."""
        self._resend_oldest()
        now = time.monotonic()
        # A frame (re)sent less than a round trip ago may still be on its way: the stub
        # repeats its NAK every 150 ms, faster than a window crosses a slow line.
        recent = self.srtt if self.srtt is not None else RTO_MIN
        for i in range(1, min(held.bit_length(), len(self.unacked))):
            if not (held >> (i - 1)) & 1 and now - self.unacked[i].sent_at > recent:
                self._resend(self.unacked[i])

    def _resend_oldest(self) -> None:
        """Selective repeat: the stub keeps what arrived out of order, so only the frame
        it waits for is sent again (with a fresh ack)."""
        self._resend(self.unacked[0])

    def _resend(self, out: _Outstanding) -> None:
        out.frame = dataclasses.replace(out.frame, ack=self.rx_expected)
        self._send_frame(out.frame)
        out.sent_at, out.retransmitted = time.monotonic(), True
        self.stats["retransmits"] += 1

    def _check_timers(self) -> None:
        now = time.monotonic()
        # A repeated NAK was lost or the frame was hit again: without asking anew, the gap
        # would wait for the stub's retransmit timer, which backs off to seconds.
        if self.reorder and now - self.nak_sent_at > NAK_REPEAT:
            self._send_nak()
        if not self.unacked:
            return
        # Silence alone is not death on a noisy line (a frame may be hit several times in
        # a row): the oldest frame must also have been sent again DEAD_RETRIES times.
        if now - self.last_progress > self.dead_after and self.retries >= DEAD_RETRIES:
            noise = self.decoder.noise[-160:].decode(errors="replace").strip()
            self._fail(LinkLost(f"the stub stopped acknowledging for {self.dead_after:g} s"
                                + (f" (last text on the line: {noise!r})" if noise else "")))
            return
        oldest = self.unacked[0]
        if now - oldest.sent_at > self.rto:
            self.stats["timeouts"] += 1
            self.retries += 1
            self.rto = min(RTO_MAX, self.rto * 2)
            self._resend_oldest()

    def _check_reset_banner(self) -> None:
        """Text that is not frames and says U-Boot, or the stub's banner: the board reset
        under the session, busy or idle (an idle REPL must notice too). It may still sit
        in the decoder's pending bytes (text has no 0x00 delimiters). Only while a
        session is established: the answer to a HELLO may follow the monitor's text."""
        if self.hello_future is None or not self.hello_future.done() or self.failure:
            return
        text = bytes(self.decoder.noise[-400:]) + bytes(self.decoder.pending[-400:])
        for banner, what in RESET_BANNERS:
            if banner.search(text):
                self.decoder.noise.clear()
                self.decoder.pending.clear()
                self._fail(BoardReset(what))
                return

    def _fail(self, error: HvmonError) -> None:
        self.failure = error
        for future in list(self.waiting) + [f for _, f, _ in self.queue] + [self.hello_future]:
            if future is not None and not future.done():
                future.set_exception(error)
        self.waiting.clear()
        self.queue.clear()
        self.unacked.clear()


def _callback_failed(what: str, exc: BaseException) -> CallbackFailed:
    error = CallbackFailed(f"the {what} callback raised {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _channel_name(channel: int) -> str:
    if channel >= P.Channel.CONSOLE_BASE:
        return f"VM {channel - P.Channel.CONSOLE_BASE} console"
    return {P.Channel.LOG: "stub log", P.Channel.EVENT: "event"}.get(channel, f"channel {channel}")
