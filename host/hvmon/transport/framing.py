"""Frames on the wire (protocol/spec.md): header, payload, CRC-32C, COBS, 0x00."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import crcmod.predefined
from cobs import cobs

from .. import protocol as P

HEADER = struct.Struct("<BBHHH")          # type, channel, seq, ack, payload length
assert HEADER.size == P.HEADER_SIZE
crc32c = crcmod.predefined.mkCrcFun("crc-32c")
MAX_RAW = P.HEADER_SIZE + P.MAX_PAYLOAD + P.CRC_SIZE
MAX_ENCODED = MAX_RAW + MAX_RAW // 254 + 2
NOISE_KEPT = 2048


@dataclass(frozen=True)
class Frame:
    type: int
    channel: int = 0
    seq: int = 0
    ack: int = 0
    payload: bytes = b""


def encode(frame: Frame) -> bytes:
    """The frame as it goes on the wire, delimiter included."""
    if len(frame.payload) > P.MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds {P.MAX_PAYLOAD}")
    raw = HEADER.pack(frame.type, frame.channel, frame.seq & 0xFFFF, frame.ack & 0xFFFF,
                      len(frame.payload)) + frame.payload
    raw += crc32c(raw).to_bytes(4, "little")
    return cobs.encode(raw) + b"\x00"


def decode(raw_frame: bytes) -> Frame | None:
    """One decoded (un-COBSed) frame, or None when it is not a valid frame."""
    if len(raw_frame) < P.HEADER_SIZE + P.CRC_SIZE:
        return None
    ftype, channel, seq, ack, length = HEADER.unpack_from(raw_frame)
    if length != len(raw_frame) - P.HEADER_SIZE - P.CRC_SIZE or length > P.MAX_PAYLOAD:
        return None
    body = raw_frame[:-P.CRC_SIZE]
    if crc32c(body) != int.from_bytes(raw_frame[-P.CRC_SIZE:], "little"):
        return None
    if ftype not in P.FrameType.__members__.values():
        return None
    return Frame(ftype, channel, seq, ack, bytes(body[P.HEADER_SIZE:]))


class FrameDecoder:
    """Splits the received byte stream at 0x00 delimiters into frames.

    Whatever is not a valid frame (line noise, or plain text such as U-Boot's banner
    after a board reset) is counted and its last bytes kept in `noise`, so the session
    can tell what happened on the line.
    """

    def __init__(self):
        self.pending = bytearray()
        self.rejected = 0
        self.noise = bytearray()

    def _reject(self, data: bytes) -> None:
        self.rejected += 1
        self.noise += data
        del self.noise[:-NOISE_KEPT]

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        self.pending += data
        while True:
            end = self.pending.find(0)
            if end < 0:
                break
            piece = bytes(self.pending[:end])
            del self.pending[: end + 1]
            if not piece:
                continue
            try:
                frame = decode(cobs.decode(piece))
            except cobs.DecodeError:
                frame = None
            if frame is None:
                self._reject(piece)
            else:
                frames.append(frame)
        if len(self.pending) > MAX_ENCODED:       # no delimiter for too long: text, not frames
            self._reject(bytes(self.pending))
            self.pending.clear()
        return frames
