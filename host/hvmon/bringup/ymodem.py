"""YMODEM sender for U-Boot's `loady` (1024-byte blocks, CRC-16/XMODEM).

Only the sending side, as U-Boot's receiver (common/xyzModem.c) expects it. One
deliberate difference from lrzsz: after the receiver acknowledges the file-name
block we send the first data block at once instead of waiting for its second 'C'.
U-Boot sends that 'C' only after its own character timeout, which costs every
transfer seconds for nothing.
"""

from __future__ import annotations

import crcmod.predefined

from ..errors import BoardRefused, StepTimeout
from ..transport.expect import Expect

SOH, STX, EOT, ACK, NAK, CAN, CRC_REQUEST = 0x01, 0x02, 0x04, 0x06, 0x15, 0x18, ord("C")
BLOCK = 1024
MAX_RETRIES = 10

_crc16 = crcmod.predefined.mkCrcFun("xmodem")


def make_block(seq: int, payload: bytes, size: int) -> bytes:
    """One YMODEM block: SOH/STX, sequence, its complement, padded data, CRC-16 (big endian)."""
    if len(payload) > size:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a {size}-byte block")
    pad = b"\x00" if seq == 0 else b"\x1a"
    data = payload + pad * (size - len(payload))
    head = bytes([SOH if size == 128 else STX, seq & 0xFF, 0xFF - (seq & 0xFF)])
    return head + data + _crc16(data).to_bytes(2, "big")


def header_block(name: str, size: int) -> bytes:
    info = name.encode() + b"\x00" + str(size).encode() + b"\x00"
    return make_block(0, info, 128 if len(info) <= 128 else BLOCK)


def _wait_for(link: Expect, wanted: set[int], timeout: float, step: str) -> int:
    """Next control byte in `wanted` (or CAN); text the receiver prints is skipped."""
    while True:
        byte = link.read_byte(timeout)
        if byte is None:
            raise StepTimeout(step, "answer from the YMODEM receiver", timeout,
                              link.transcript[-200:].decode(errors="replace"))
        if byte == CAN:
            raise BoardRefused(f"{step}: the receiver cancelled the transfer")
        if byte in wanted:
            return byte


def _send_until_ack(link: Expect, block: bytes, step: str, timeout: float) -> None:
    for _ in range(MAX_RETRIES):
        link.drain()        # a stale 'C' must not count as an answer to this block
        link.write(block)
        answer = _wait_for(link, {ACK, NAK, CRC_REQUEST}, timeout, step)
        if answer == ACK:
            return
    raise BoardRefused(f"{step}: the receiver refused the block {MAX_RETRIES} times")


def send(link: Expect, data: bytes, name: str = "hvmon.bin", timeout: float = 10.0,
         progress=None) -> None:
    """Send `data` as one file to a receiver that is already asking with 'C'."""
    _wait_for(link, {CRC_REQUEST}, timeout, "ymodem start")
    _send_until_ack(link, header_block(name, len(data)), "ymodem header block", timeout)
    for index, offset in enumerate(range(0, len(data), BLOCK), start=1):
        block = make_block(index, data[offset: offset + BLOCK], BLOCK)
        _send_until_ack(link, block, f"ymodem block {index}", timeout)
        if progress:
            progress(min(offset + BLOCK, len(data)), len(data))
    for _ in range(MAX_RETRIES):            # end of file: EOT until acknowledged
        link.write(bytes([EOT]))
        if _wait_for(link, {ACK, NAK}, timeout, "ymodem end of file") == ACK:
            break
    else:
        raise BoardRefused("ymodem end of file: never acknowledged")
    # An empty file-name block ends the batch.
    _wait_for(link, {CRC_REQUEST}, timeout, "ymodem end of batch")
    _send_until_ack(link, make_block(0, b"", 128), "ymodem end of batch", timeout)
