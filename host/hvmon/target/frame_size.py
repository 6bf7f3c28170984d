"""How many payload bytes the next data frame carries, from how the line has behaved.

A frame is lost whole when any of its bits is hit, so on a noisy line long frames are
resent again and again: at a bit error rate of 2e-5 a 4 KiB frame is hit about half the
time, and 256 KiB through the QEMU board's line took 55 s against 7 s clean (12 s with
512-byte frames). Like ZMODEM, which shortens its subpackets after errors, the sizer
halves the frame after the session had to resend or ask for a resend and doubles it
again after a run of clean frames, between SMALLEST and what the stub takes
(BoardInfo.data_chunk); pushes size their MEM_WRITE / MEM_STAGE payloads by it, reads
their MEM_READ replies. On a clean line it never leaves the largest size."""

from __future__ import annotations

from collections.abc import Mapping

SMALLEST = 256
# The errors of one burst reach the counters over a window's worth of frames: after a
# halving, the next waits for this many frames, so one burst halves once, not eight times.
SETTLE_FRAMES = 4
# Clean frames in a row before the size doubles again.
CLEAN_FRAMES = 64
# Frames resent either way: the stub's NAKs and timeouts, and the host's NAKs of its replies.
ERROR_KEYS = ("retransmits", "naks_in", "naks_out", "timeouts")


class FrameSizer:
    def __init__(self, stats: Mapping[str, int], largest: int, smallest: int = SMALLEST):
        self.stats, self.largest = stats, largest
        self.smallest = min(smallest, largest)
        self.size = largest
        self._errors = self._count()
        self._since_change = 0
        self._clean = 0

    def _count(self) -> int:
        return sum(self.stats.get(key, 0) for key in ERROR_KEYS)

    def next(self) -> int:
        """The payload size for the next frame (called once per frame, as it is built)."""
        errors = self._count()
        fresh, self._errors = errors > self._errors, errors
        self._since_change += 1
        if fresh:
            self._clean = 0
            if self._since_change > SETTLE_FRAMES and self.size > self.smallest:
                self.size = max(self.smallest, self.size // 2)
                self._since_change = 0
        else:
            self._clean += 1
            if self._clean >= CLEAN_FRAMES and self.size < self.largest:
                self.size = min(self.largest, self.size * 2)
                self._clean = self._since_change = 0
        return self.size

    def spans(self, length: int):
        """[0, length) cut into frames' payloads, each as long as next() says (the last
        one shorter): (offset, size)."""
        offset = 0
        while offset < length:
            size = min(self.next(), length - offset)
            yield offset, size
            offset += size

    def slices(self, data: bytes):
        """data cut as spans() cuts it: (offset, bytes)."""
        for offset, size in self.spans(len(data)):
            yield offset, data[offset:offset + size]
