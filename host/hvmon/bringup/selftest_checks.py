"""The selftest's checks on a framed board, one function per report line.

Each takes the Board (and what else it needs) and returns a selftest_report.Line; the
runner (selftest.py) times it and turns an exception into a failed line. Optional fields
that newer stubs report (BoardInfo.reserved, .gic_intids, FIFO counters) are read with
getattr: the same host works against stubs from before and after they exist.
"""

from __future__ import annotations

import random
import statistics
import struct
import time
import zlib

from .. import protocol as P
from ..target.board import Board, Range, StubError
from .selftest_report import Line

PATTERNS = (0x00000000, 0xFFFFFFFF, 0x55555555, 0xAAAAAAAA, 0x0F0F0F0F, 0xF0F0F0F0)
ALIGN = 0x10000
NOT_REPORTED = "not reported by this stub"


def ranges_text(ranges) -> list[str]:
    return [f"{r.name or 'range':12} {r.base:#014x}-{r.end - 1:#014x} ({r.size >> 10} KiB)"
            for r in ranges]


def as_dicts(ranges) -> list[dict]:
    return [{"name": r.name, "base": r.base, "size": r.size} for r in ranges]


def reserved_ranges(info) -> tuple | None:
    """The board's reserved memory as the stub reports it, or None from a stub that does not."""
    reserved = getattr(info, "reserved", None)
    return tuple(reserved) if reserved is not None else None


def pick_scratch(ram, avoid, size: int) -> Range | None:
    """The highest ALIGN-aligned stretch of `size` bytes of RAM that overlaps nothing in
    `avoid` (the stub, the boot DTB, reserved memory, the guest's RAM): the top of RAM is
    where a boot loader's leftovers are least likely to matter to anything still running."""
    best = None
    for region in ram:
        edges = sorted({region.end} | {r.base for r in avoid if region.base < r.base < region.end})
        for top in edges:
            start = (top - size) & ~(ALIGN - 1)
            if start < region.base:
                continue
            if any(start < r.end and r.base < start + size for r in avoid):
                continue
            if best is None or start > best.base:
                best = Range(start, size, "scratch")
    return best


def check_load_address(info, profile, boot_log: str) -> Line:
    stub = next((r for r in info.protected if r.name == "stub"), None)
    moved = [line.strip() for line in boot_log.splitlines()
             if "Moving Image" in line or "RELOCATE" in line]
    values = {"expected": profile.load_address, "found": stub.base if stub else None,
              "image_end": stub.end if stub else None, "boot_loader_moved": moved}
    if stub is None:
        return Line("load address", "fail", "INFO has no `stub` range: the load address is unknown",
                    values, details=boot_log)
    ok = stub.base == profile.load_address
    text = (f"{stub.base:#x} (image and BSS to {stub.end - 1:#x})"
            + ("" if ok else f", but the profile says {profile.load_address:#x}")
            + (f"; U-Boot said: {'; '.join(moved)}" if moved else "; U-Boot moved nothing"))
    return Line("load address", "pass" if ok else "fail", text, values, details=boot_log)


def check_ram_map(info) -> Line:
    reserved = reserved_ranges(info)
    intids = getattr(info, "gic_intids", None)
    values = {"ram": as_dicts(info.ram), "protected": as_dicts(info.protected),
              "reserved": as_dicts(reserved) if reserved is not None else NOT_REPORTED,
              "gic_intids": intids if intids is not None else NOT_REPORTED}
    total = sum(r.size for r in info.ram)
    text = (f"{len(info.ram)} bank(s), {total >> 20} MiB; protected: "
            + ", ".join(r.name for r in info.protected)
            + ("; reserved: " + (", ".join(str(r) for r in reserved) or "none")
               if reserved is not None else f"; reserved ranges: {NOT_REPORTED}")
            + (f"; GIC INTIDs 0-{intids - 1}" if intids is not None else ""))
    details = "\n".join(["RAM:"] + ranges_text(info.ram) + ["protected:"] + ranges_text(info.protected)
                        + (["reserved:"] + ranges_text(reserved) if reserved is not None
                           else [f"reserved: {NOT_REPORTED}"])
                        + [f"GIC INTIDs: 0-{intids - 1}" if intids is not None
                           else f"GIC INTIDs: {NOT_REPORTED}"])
    return Line("RAM map", "info" if info.ram else "fail", text, values, details=details)


def link_counters(board: Board) -> dict:
    result = board.hvc("link_stats")
    if result.status != 0:
        return {}
    return dict(result.results)


def check_uart_fifo(board: Board) -> Line:
    """The link UART's FIFO depth and counters (UART_STATS), read after every other check
    so the counters cover the transfers. Bytes the stub's receive path lost (UART overruns,
    a full receive ring) fail the line: the stub did not keep up with the line. Framing and
    parity errors and breaks are the cable's; they are shown, and the protocol repairs them."""
    try:
        stats = board.uart_stats()
    except StubError as exc:
        if exc.status != P.Status.UNKNOWN_COMMAND:
            raise
        return Line("UART FIFO", "not reported",
                    f"FIFO depth and overrun counters: {NOT_REPORTED} (no UART_STATS, protocol "
                    f"{getattr(board.info(), 'protocol_version', '?')})",
                    {"fifo_depth": NOT_REPORTED, "overruns": NOT_REPORTED})
    lost = stats.overruns + stats.rx_ring_overruns
    text = (f"{stats.driver}, depth {stats.fifo_depth} ({stats.depth_source}); after every check: "
            f"{stats.rx_bytes} bytes in, {stats.tx_bytes} out; {stats.overruns} overruns, "
            f"{stats.rx_ring_overruns} bytes dropped by a full receive ring; line errors: "
            f"{stats.framing_errors} framing, {stats.parity_errors} parity, {stats.breaks} breaks")
    return Line("UART FIFO", "fail" if lost else "pass", text, stats.as_dict())


def check_link_counters(board: Board) -> Line:
    counters = link_counters(board)
    if not counters:
        return Line("link counters", "fail", "the link_stats hypercall was refused", {})
    text = ", ".join(f"{k} {v}" for k, v in counters.items())
    # Rejected frames are repaired by the protocol (repeats); lost output bytes are not.
    status = "fail" if counters.get("bytes_lost") else "pass"
    return Line("link counters", status, text + " (after every check)", counters)


def check_timer(board: Board, span: float = 1.0) -> Line:
    first = board.hvc("time")
    host_first = time.monotonic()
    time.sleep(span)
    second = board.hvc("time")
    host_span = time.monotonic() - host_first
    frequency = first.results.get("frequency", 0)
    ticks = second.results.get("counter", 0) - first.results.get("counter", 0)
    measured = ticks / host_span if host_span > 0 else 0.0
    values = {"cntfrq": frequency, "counter_ticks": ticks, "host_seconds": round(host_span, 4),
              "measured_hz": round(measured)}
    ok = frequency > 0 and ticks > 0
    text = (f"CNTFRQ_EL0 {frequency / 1e6:g} MHz; the counter advanced {measured / 1e6:.3f} MHz "
            f"against the host's clock over {host_span:.2f} s (includes two round trips)")
    return Line("timer", "pass" if ok else "fail", text, values)


def check_ram_patterns(board: Board, scratch: Range) -> Line:
    """Fill the scratch range with each pattern on the board, CRC it there, compare."""
    bad = []
    for pattern in PATTERNS:
        board.fill(scratch.base, scratch.size, pattern)
        expected = zlib.crc32(struct.pack("<I", pattern) * (scratch.size // 4))
        got = board.crc(scratch.base, scratch.size)
        if got != expected:
            bad.append(f"{pattern:#010x}: CRC {got:08x}, expected {expected:08x}")
    values = {"base": scratch.base, "size": scratch.size, "patterns": [f"{p:#010x}" for p in PATTERNS],
              "mismatches": bad}
    text = (f"{len(PATTERNS)} patterns over {scratch}, {scratch.size >> 10} KiB: "
            + ("all CRCs match" if not bad else "; ".join(bad)))
    return Line("RAM pattern test", "fail" if bad else "pass", text, values)


def goodput_lines(board: Board, scratch: Range, length: int, baud: int, paced: bool = True,
                  seed: int = 12) -> list[Line]:
    """Random bytes (incompressible: nothing is deflated) to the board and back, timed.
    paced=False: an emulated UART that ignores the baud rate, so the share is no limit."""
    data = random.Random(seed).randbytes(min(length, scratch.size))
    line_rate = baud / 10                     # 8N1: ten bits on the line per byte
    started = time.monotonic()
    board.write(scratch.base, data, compress=False, skip_unchanged=False, verify=False)
    up_seconds = time.monotonic() - started
    crc_ok = board.crc(scratch.base, len(data)) == zlib.crc32(data)
    started = time.monotonic()
    back = board.read(scratch.base, len(data))
    down_seconds = time.monotonic() - started
    lines = []
    for name, seconds, ok, what in (
            ("goodput host→board", up_seconds, crc_ok, "board's CRC matches"),
            ("goodput board→host", down_seconds, back == data, "read back equal")):
        rate = len(data) / seconds
        values = {"bytes": len(data), "seconds": round(seconds, 4), "bytes_per_s": round(rate),
                  "line_bytes_per_s": line_rate, "share_of_line_rate": round(rate / line_rate, 3),
                  "verified": ok}
        text = (f"{len(data) >> 10} KiB in {seconds:.2f} s: {rate / 1024:.1f} KiB/s, "
                f"{rate / line_rate:.2f} of {baud} baud 8N1"
                + ("" if paced else " (not paced: QEMU's UART ignores the baud)") + "; "
                + (what if ok else "DATA DIFFERS"))
        lines.append(Line(name, "pass" if ok else "fail", text, values, seconds=seconds))
    return lines


def compressible(length: int, seed: int = 7) -> bytes:
    """Text-like bytes that deflate about 4:1, like a kernel's mix of code and strings."""
    rng = random.Random(seed)
    words = [bytes(rng.randrange(97, 123) for _ in range(rng.randrange(2, 9))) for _ in range(400)]
    out = bytearray()
    while len(out) < length:
        out += b"%08x " % len(out) + b" ".join(rng.choice(words) for _ in range(6)) + b"\n"
    return bytes(out[:length])


def round_trip(board: Board, count: int = 5) -> float:
    times = []
    for _ in range(count):
        started = time.monotonic()
        board.hvc("echo", 1, 2, 3)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def check_unpack(board: Board, scratch: Range, codec: str, block: int = 256 << 10,
                 total: int = 1 << 20) -> Line:
    """Stage one compressed block once, then unpack it total/block times into the scratch
    range, timing each request minus a no-op round trip: the stub's decode + CRC time,
    without the line (the compressed bytes cross it only once)."""
    from ..target import lzma2
    info = board.info()
    name = "inflate" if codec == "deflate" else "LZMA2"
    capability = P.Capability.DEFLATE if codec == "deflate" else P.Capability.LZMA2
    if capability not in info.capabilities:
        return Line(name, "not reported", f"this stub has no {capability.name} capability", {})
    total = min(total, scratch.size)
    raw = compressible(min(block, total))
    if codec == "deflate":
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        comp = packer.compress(raw) + packer.flush()
        command = P.Command.MEM_INFLATE
    else:
        comp = lzma2.compress(raw)
        command = P.Command.MEM_UNLZMA
    if len(comp) > info.staging_size:
        return Line(name, "fail", f"test block compresses to {len(comp)} bytes, more than the "
                                  f"stub's staging ({info.staging_size})", {})
    for at in range(0, len(comp), info.data_chunk):
        board.call(P.Command.MEM_STAGE, at, data=comp[at:at + info.data_chunk])
    rtt = round_trip(board)
    decode = 0.0
    crc = zlib.crc32(raw)
    for addr in range(scratch.base, scratch.base + total, len(raw)):
        started = time.monotonic()
        board.call(command, addr, len(raw), len(comp), crc, 0, what=f"at {addr:#x}")
        decode += max(time.monotonic() - started - rtt, 0.0)
    mib = total / (1 << 20)
    values = {"raw_bytes": total, "block": len(raw), "compressed_block": len(comp),
              "round_trip_s": round(rtt, 5), "decode_s": round(decode, 4),
              "ms_per_mib": round(decode / mib * 1000, 2)}
    text = (f"{decode / mib * 1000:.1f} ms per MiB (decode + CRC on the board; {total >> 10} KiB "
            f"from a {len(comp) >> 10} KiB block, {len(raw) / len(comp):.1f}:1, round trip "
            f"{rtt * 1000:.1f} ms subtracted)")
    return Line(name, "pass", text, values)
