"""hvmon.Board: the stub in framed mode, as a Python object.

    with Board.open("socket://127.0.0.1:4321") as board:
        print(board.info())
        board.write(0x40400000, "Image", progress=print)
        board.hvc("version")
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import protocol as P
from ..errors import BoardRefused, ConfigError, HvmonError
from .blockcache import BlockCache
from .deflated_read import ReadStats, read_into
from .frame_size import FrameSizer
from ..transport.link import open_link
from ..transport.session import Session
from .uart_stats import UartStats, parse_uart_stats
from .packing import CODECS, DEFLATE, LZMA2, RAW, Packer, Piece, block_chunks_for, changed_blocks

Progress = Callable[[int, int], None]
MAX_IN_FLIGHT = 2 * P.WINDOW         # requests queued ahead of the window
COMPRESS_WORKERS = max(1, min(4, os.cpu_count() or 1))


class StubError(BoardRefused):
    """The stub answered a request with a status other than OK."""

    def __init__(self, command: str, status: int, reason: str, what: str = ""):
        self.command, self.status, self.reason = command, status, reason
        name = P.Status(status).name if status in P.Status.__members__.values() else str(status)
        super().__init__(f"{command}{' ' + what if what else ''} refused ({name}): "
                         f"{reason or P.STATUS_DOC.get(status, 'no reason given')}")


@dataclass(frozen=True)
class Range:
    base: int
    size: int
    name: str = ""

    @property
    def end(self) -> int:
        return self.base + self.size

    def __str__(self) -> str:
        label = f"{self.name} " if self.name else ""
        return f"{label}{self.base:#x}-{self.end - 1:#x}"


@dataclass(frozen=True)
class Reserved:
    """A range the board's boot DTB reserves (/memreserve/ or a /reserved-memory child):
    the stub refuses every request and VM region that touches it. A DYNAMIC one (size,
    no reg) was placed by nobody and reserves nothing."""
    base: int
    size: int
    flags: P.ReservedFlag
    name: str

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def path(self) -> str:
        """How the stub names it: /reserved-memory/NAME, or /memreserve/."""
        if self.flags & (P.ReservedFlag.MEMRESERVE | P.ReservedFlag.MERGED):
            return self.name
        return f"/reserved-memory/{self.name}"

    @property
    def enforced(self) -> bool:
        return not self.flags & P.ReservedFlag.DYNAMIC

    def __str__(self) -> str:
        if not self.enforced:
            return f"{self.path} (size {self.size:#x}, not placed)"
        return f"{self.path} {self.base:#x}-{self.end - 1:#x}"


@dataclass(frozen=True)
class BoardInfo:
    protocol_version: int
    max_payload: int
    window: int
    data_chunk: int
    capabilities: P.Capability
    staging_size: int
    boot_id: int
    ram: tuple[Range, ...]
    protected: tuple[Range, ...]
    board: str
    version: str
    gic_intids: int = P.MAX_INTIDS          # INTIDs 0..gic_intids-1 exist on the board's GIC
    reserved: tuple[Reserved, ...] = ()
    pa_bits: int = 40            # physical addresses a VM's stage 2 can reach
    ipa_bits: int = 34           # a VM's guest-physical address space
    memory: str = ""          # "EL2 MMU on, caches on"; empty from a stub that does not say

    @property
    def blocked(self) -> tuple[Range, ...]:
        """What no write and no VM's RAM may touch: the protected ranges and every
        placed reservation (named as the stub names them)."""
        return self.protected + tuple(Range(r.base, r.size, r.path) for r in self.reserved
                                      if r.enforced)


@dataclass(frozen=True)
class HvcResult:
    name: str
    x: tuple[int, int, int, int]
    results: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> int:
        value = self.x[0]
        return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class StubFault:
    """An EVENT FAULT: the stub took an unexpected exception in framed mode. `command` and
    `tag` name the request it was carrying out (0 and 0: none); a request not yet answered
    is answered FAULTED, one answered before it ran on (JUMP) only has this event."""
    esr: int
    elr: int
    far: int
    spsr: int
    command: int
    tag: int

    @property
    def command_name(self) -> str:
        if self.command == 0:
            return ""
        known = self.command in P.Command.__members__.values()
        return P.Command(self.command).name if known else f"{self.command:#x}"


def parse_fault(payload: bytes) -> StubFault:
    return StubFault(*struct.unpack_from(P.EVENT_FIELDS[P.Event.FAULT].format, payload,
                                         P.PAYLOAD_HEADER))


@dataclass
class WriteStats:
    total: int = 0
    skipped: int = 0
    sent_raw: int = 0
    sent_deflated: int = 0       # compressed bytes on the wire for deflated chunks
    deflated_from: int = 0       # raw bytes those chunks stand for
    sent_lzma2: int = 0          # the same for LZMA2 (MEM_UNLZMA)
    lzma2_from: int = 0
    blocks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CODECS, 0))
    cache_hits: int = 0          # compressed streams found in the block cache
    cache_misses: int = 0        # streams compressed now (and stored there)
    compress_seconds: float = 0.0    # until the last block was compressed
    seconds: float = 0.0

    @property
    def sent_compressed(self) -> int:
        return self.sent_deflated + self.sent_lzma2

    @property
    def compressed_from(self) -> int:
        return self.deflated_from + self.lzma2_from


def hypercall(name_or_id: str | int) -> P.Hypercall:
    for h in P.HYPERCALLS:
        if name_or_id in (h.name, h.id):
            return h
    if isinstance(name_or_id, int):
        return P.Hypercall(f"{name_or_id:#x}", name_or_id, "unknown to this host", (), (), True)
    names = ", ".join(h.name for h in P.HYPERCALLS)
    raise ConfigError(f"unknown hypercall {name_or_id!r} (known: {names})")


class Board:
    def __init__(self, session: Session, port=None):
        self.session = session
        self.port = port
        self.tag = 0
        self.log = bytearray()
        self.events: list[tuple[int, bytes]] = []
        self.consoles: dict[int, bytearray] = {}
        self.console_arrived: dict[int, float] = {}   # time.monotonic() of each one's last bytes
        self.on_console = None
        self.on_event = None
        # f(channel, data) on the pump thread as each frame arrives, like _record: logs
        # (hvmon.target.channel_logs) see every byte in arrival order.
        self.recorders: list[Callable[[int, bytes], None]] = []
        self._info: BoardInfo | None = None
        self.last_read: ReadStats | None = None     # the last compressed read's figures
        self.codecs: tuple[str, ...] = (DEFLATE, LZMA2)   # what write() may use, if the stub can
        self.block_cache: BlockCache | None = BlockCache()  # None: compress every time

    @classmethod
    def open(cls, url: str, baud: int = 1_500_000, trace=None) -> "Board":
        """Connect to the stub at a pyserial URL and start a framed session."""
        return cls.attach(open_link(url, baud), trace=trace)

    @classmethod
    def attach(cls, port, trace=None) -> "Board":
        """Start a framed session on a port that is already open (after a bring-up).
        The stub may be at its text monitor or in framed mode already."""
        port.timeout = 0.002              # the session's pump polls; see Session._pump
        board = cls(None, port)
        board.session = board._start_session(port, trace=trace)
        try:
            board.session.hello()
            board.info(refresh=True)
        except BaseException:
            board.close()
            raise
        return board

    def _start_session(self, port, **options) -> Session:
        """A Session filling this board's buffers and calling its callbacks."""
        return Session(port, on_stream=self._on_stream, on_event=self._on_event,
                       record=self._record, **options)

    def _record(self, channel: int, data: bytes) -> None:
        """On the session's pump thread, as each frame arrives: log, consoles and events
        are complete and in step with the answers, whatever the callbacks do."""
        if channel == P.Channel.LOG:
            self.log += data
        elif channel == P.Channel.EVENT:
            self.events.append((data[0] if data else 0, data))
        elif channel >= P.Channel.CONSOLE_BASE:
            self.consoles.setdefault(channel - P.Channel.CONSOLE_BASE, bytearray()).extend(data)
            self.console_arrived[channel - P.Channel.CONSOLE_BASE] = time.monotonic()
        for recorder in self.recorders:
            recorder(channel, data)

    def _on_stream(self, channel: int, data: bytes) -> None:
        """On the session's dispatcher thread (see Session): on_console may block, raise
        (which fails the session with its message) or write to a console."""
        if channel >= P.Channel.CONSOLE_BASE and self.on_console:
            self.on_console(channel - P.Channel.CONSOLE_BASE, data)

    def console_write(self, vm: int, data: bytes) -> None:
        """Input for guest vm's console (its emulated UART's receive FIFO)."""
        self.session.send_stream(P.Channel.CONSOLE_BASE + vm, data)

    def _on_event(self, event: int, payload: bytes) -> None:
        """On the dispatcher thread, like _on_stream. It also gets the host's own LOST
        events (flags byte session.HOST_LOST), which Board.events does not hold."""
        if self.on_event:
            self.on_event(event, payload)

    def wait_event(self, kind: P.Event, timeout: float = 10.0, start: int = 0) -> bytes:
        """The payload of the first event of this kind at or after index `start` of
        `events` (events arrive on the session's thread); AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for event, payload in self.events[start:]:
                if event == kind:
                    return payload
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {P.Event(kind).name} event within {timeout:g} s")
            time.sleep(0.02)

    @property
    def faults(self) -> list[StubFault]:
        """Every EVENT FAULT this session received, oldest first."""
        return [parse_fault(payload) for event, payload in list(self.events) if event == P.Event.FAULT]

    def close(self) -> None:
        if self.session:
            self.session.close()
        if self.port:
            self.port.close()

    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests ------------------------------------------------------------------------

    def _request(self, command: P.Command, *fields: int, data: bytes = b"") -> Future:
        spec = P.COMMANDS[command]
        self.tag = (self.tag + 1) & 0xFFFF
        payload = struct.pack("<BBH", command, 0, self.tag) + struct.pack(spec.request.format, *fields) + data
        future = self.session.submit(payload)
        future.tag = self.tag
        return future

    def _result(self, command: P.Command, future: Future, what: str = "",
                timeout: float = 120.0) -> tuple[tuple, bytes]:
        payload = future.result(timeout)
        spec = P.COMMANDS[command]
        if len(payload) < P.PAYLOAD_HEADER or payload[0] != command | P.RESPONSE \
                or struct.unpack_from("<H", payload, 2)[0] != future.tag:
            raise HvmonError(f"{spec.name}: the stub's response does not match the request "
                             f"({payload[:4].hex()})")
        status = payload[1]
        if status != P.Status.OK:
            raise StubError(spec.name, status, payload[4:].decode(errors="replace"), what)
        size = struct.calcsize(spec.response.format)
        fields = struct.unpack_from(spec.response.format, payload, P.PAYLOAD_HEADER)
        return fields, payload[P.PAYLOAD_HEADER + size:]

    def call(self, command: P.Command, *fields: int, data: bytes = b"", what: str = "",
             timeout: float = 120.0) -> tuple[tuple, bytes]:
        return self._result(command, self._request(command, *fields, data=data), what, timeout)

    def _pipeline(self, requests: Iterable[tuple[P.Command, tuple, bytes, str, int]],
                  progress: Progress | None, total: int, with_fields: bool = False) -> list:
        """Submit many requests, at most MAX_IN_FLIGHT ahead; results in order: each
        response's data, or (its fields, its data) with with_fields."""
        queue: list[tuple[P.Command, Future, str, int]] = []
        results, done = [], 0

        def settle(entry):
            nonlocal done
            command, future, what, weight = entry
            result = self._result(command, future, what)
            results.append(result if with_fields else result[1])
            done += weight
            if progress:
                progress(done, total)

        for command, fields, data, what, weight in requests:
            queue.append((command, self._request(command, *fields, data=data), what, weight))
            while len(queue) > MAX_IN_FLIGHT:
                settle(queue.pop(0))
        for entry in queue:
            settle(entry)
        return results

    # --- the board API -------------------------------------------------------------------

    def info(self, refresh: bool = False) -> BoardInfo:
        if self._info and not refresh:
            return self._info
        fields, data = self.call(P.Command.INFO)
        (version, max_payload, window, chunk, caps, staging, boot_id, ram_count, intids, pa_bits,
         ipa_bits) = fields
        ram, at = [], 0
        for _ in range(ram_count):
            base, size = struct.unpack_from("<QQ", data, at)
            ram.append(Range(base, size, "ram"))
            at += 16
        (count,) = struct.unpack_from("<I", data, at)
        at += 4
        protected = []
        for _ in range(count):
            base, size, name = struct.unpack_from("<QQ16s", data, at)
            protected.append(Range(base, size, name.rstrip(b"\0").decode()))
            at += 32
        (count,) = struct.unpack_from("<I", data, at)
        at += 4
        reserved = []
        entry = f"<QQI{P.RESERVED_NAME}s"
        for _ in range(count):
            base, size, flags, name = struct.unpack_from(entry, data, at)
            reserved.append(Reserved(base, size, P.ReservedFlag(flags),
                                     name.split(b"\0")[0].decode(errors="replace")))
            at += struct.calcsize(entry)
        board, version_text, memory = (data[at:].split(b"\0") + [b""] * 3)[:3]
        self._info = BoardInfo(version, max_payload, window, chunk, P.Capability(caps), staging,
                               boot_id, tuple(ram), tuple(protected), board.decode(),
                               version_text.decode(), intids, tuple(reserved), pa_bits, ipa_bits,
                               memory.decode())
        return self._info

    def uart_stats(self) -> UartStats:
        """The link UART's FIFO depth, bytes each way and error counters (UART_STATS).
        A stub from before protocol 4 answers UNKNOWN_COMMAND: StubError."""
        return parse_uart_stats(*self.call(P.Command.UART_STATS))

    def check_range(self, addr: int, length: int, writing: bool) -> None:
        """The stub checks every request; checking first here means a bad load sends nothing."""
        info = self.info()
        if length <= 0:
            raise ConfigError(f"empty range at {addr:#x}")
        if not any(r.base <= addr and addr + length <= r.end for r in info.ram):
            rams = ", ".join(map(str, info.ram))
            raise ConfigError(f"{addr:#x}+{length:#x} is not inside RAM ({rams})")
        dtb = next((r for r in info.protected if r.name == "boot-dtb"), None)
        if not writing and dtb and dtb.base <= addr and addr + length <= dtb.end:
            return                        # the boot DTB reads even where a reservation covers it
        for r in info.reserved:
            if r.enforced and addr < r.end and r.base < addr + length:
                raise ConfigError(f"{addr:#x}+{length:#x} overlaps reserved memory {r}")
        if writing:
            for r in info.protected:
                if addr < r.end and r.base < addr + length:
                    raise ConfigError(f"{addr:#x}+{length:#x} overlaps the protected range {r}")

    def write(self, addr: int, data: bytes | str | Path, progress: Progress | None = None,
              compress: bool = True, skip_unchanged: bool = True, verify: bool = True) -> WriteStats:
        """Load bytes (or a file) at addr: unchanged 64 KiB chunks are skipped, the rest
        sent deflated or as LZMA2 where that pays (packing.py: per block, the fewest bytes
        on the wire), and the whole range is CRC-checked at the end."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            path = Path(data)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"{path}: {exc.strerror}") from None
        data = bytes(data)
        self.check_range(addr, len(data), writing=True)
        started = time.monotonic()
        info = self.info()
        stats = WriteStats(total=len(data))
        chunk = P.CRC_CHUNK
        offsets = list(range(0, len(data), chunk))
        if skip_unchanged:
            theirs = self.crc_list(addr, len(data), chunk)
            changed = [o for o, crc in zip(offsets, theirs) if crc != zlib.crc32(data[o:o + chunk])]
        else:
            changed = offsets
        stats.skipped = len(data) - sum(len(data[o:o + chunk]) for o in changed)
        codecs = tuple(codec for codec, capability in ((DEFLATE, P.Capability.DEFLATE),
                                                       (LZMA2, P.Capability.LZMA2))
                       if compress and capability in info.capabilities and codec in self.codecs)
        block_chunks = block_chunks_for(codecs)

        def blocks():
            return changed_blocks(changed, chunk, block_chunks, len(data))

        cache = self.block_cache
        hits, misses = (cache.hits, cache.misses) if cache else (0, 0)
        packer = Packer(data, codecs, info.staging_size, info.data_chunk, cache)
        commands = {DEFLATE: P.Command.MEM_INFLATE, LZMA2: P.Command.MEM_UNLZMA}
        # Blocks compress in worker threads ahead of the sender (zlib, lzma and liblzma
        # release the GIL), so the line does not wait for LZMA2 at preset 9e.
        pool = ThreadPoolExecutor(max_workers=COMPRESS_WORKERS) if codecs else None

        def pieces():
            if pool is None:
                for offset, end in blocks():
                    yield Piece(offset, end, RAW, None, 0)
                return
            futures = [pool.submit(packer.pieces, offset, end) for offset, end in blocks()]
            for future in futures:
                yield from future.result()
            stats.compress_seconds = time.monotonic() - started

        sizer = FrameSizer(self.session.stats, info.data_chunk)

        def requests():
            for piece in pieces():
                offset, end, comp = piece.offset, piece.end, piece.comp
                raw = data[offset:end]
                stats.blocks[piece.codec] += 1
                if comp is None:
                    stats.sent_raw += len(raw)
                    for i, chunk_bytes in sizer.slices(raw):
                        yield (P.Command.MEM_WRITE, (addr + offset + i,), chunk_bytes,
                               f"at {addr + offset + i:#x}", len(chunk_bytes))
                    continue
                if piece.codec == LZMA2:
                    stats.sent_lzma2 += len(comp)
                    stats.lzma2_from += len(raw)
                else:
                    stats.sent_deflated += len(comp)
                    stats.deflated_from += len(raw)
                for i, staged in sizer.slices(comp):
                    yield (P.Command.MEM_STAGE, (i,), staged, "", 0)
                yield (commands[piece.codec], (addr + offset, len(raw), len(comp), zlib.crc32(raw),
                                               piece.history),
                       b"", f"at {addr + offset:#x}", len(raw))

        to_send = len(data) - stats.skipped
        if progress:
            progress(0, to_send)
        try:
            self._pipeline(requests(), progress, to_send)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if cache:
            stats.cache_hits, stats.cache_misses = cache.hits - hits, cache.misses - misses
        if verify:
            theirs = self.crc(addr, len(data))
            if theirs != zlib.crc32(data):
                raise BoardRefused(f"verify {addr:#x}+{len(data):#x}: stub CRC {theirs:08x}, "
                                   f"host {zlib.crc32(data):08x}")
        stats.seconds = time.monotonic() - started
        return stats

    def read(self, addr: int, length: int, progress: Progress | None = None,
             compress: bool = False) -> bytes:
        """The board's bytes at addr. compress: the stub deflates each chunk (when it
        can: capability READ_DEFLATE) and the host inflates and checks its CRC-32;
        fewer bytes cross the line for anything but random data."""
        self.check_range(addr, length, writing=False)
        self.last_read = None
        if compress and P.Capability.READ_DEFLATE in self.info().capabilities:
            chunk = self.info().data_chunk
            image = bytearray(length)
            self.last_read = read_into(self, image, addr, range(0, length, chunk), chunk, progress)
            return bytes(image)
        sizer = FrameSizer(self.session.stats, self.info().data_chunk)

        requests = ((P.Command.MEM_READ, (addr + offset, n), b"", f"at {addr + offset:#x}", n)
                    for offset, n in sizer.spans(length))
        return b"".join(self._pipeline(requests, progress, length))

    def crc(self, addr: int, length: int) -> int:
        (count,), data = self.call(P.Command.MEM_CRC, addr, length, 0, what=f"{addr:#x}+{length:#x}")
        return struct.unpack_from("<I", data)[0]

    def crc_list(self, addr: int, length: int, chunk: int = P.CRC_CHUNK) -> list[int]:
        per_request = (P.MAX_PAYLOAD - P.PAYLOAD_HEADER - 4) // 4 * chunk
        out = []
        for start in range(0, length, per_request):
            n = min(per_request, length - start)
            (count,), data = self.call(P.Command.MEM_CRC, addr + start, n, chunk,
                                       what=f"{addr + start:#x}+{n:#x}")
            out += struct.unpack_from(f"<{count}I", data)
        return out

    def fill(self, addr: int, length: int, pattern: int = 0) -> None:
        self.call(P.Command.MEM_FILL, addr, length, pattern, what=f"{addr:#x}+{length:#x}")

    def hvc(self, name_or_id: str | int, *args: int) -> HvcResult:
        h = hypercall(name_or_id)
        regs = (list(args) + [0] * 6)[:6]
        if len(args) > 6:
            raise ConfigError(f"hypercall {h.name} takes at most 6 arguments")
        (x0, x1, x2, x3), _ = self.call(P.Command.HVC, h.id, *regs)
        result = HvcResult(h.name, (x0, x1, x2, x3))
        named = dict(zip(h.results, (x1, x2, x3)))
        return HvcResult(h.name, (x0, x1, x2, x3), named) if result.status == 0 else result

    def reset(self) -> None:
        self.call(P.Command.RESET, timeout=10)

    def jump(self, addr: int, arg: int = 0) -> None:
        self.call(P.Command.JUMP, addr, arg, what=f"to {addr:#x}", timeout=10)

    def bye(self) -> None:
        self.call(P.Command.BYE, timeout=10)
