"""The YMODEM sender's blocks and its conversation, against a scripted receiver that
answers the way U-Boot's loady does (the real U-Boot is exercised by the integration
tests)."""

from __future__ import annotations

import pytest
import serial

from hvmon.bringup import ymodem
from hvmon.errors import BoardRefused, StepTimeout
from hvmon.transport.expect import Expect


def test_crc16_is_xmodem():
    # CRC-16/XMODEM check value from the CRC catalogue: "123456789" -> 0x31C3.
    assert ymodem._crc16(b"123456789") == 0x31C3


def test_data_block_layout():
    block = ymodem.make_block(1, b"abc", 1024)
    assert len(block) == 3 + 1024 + 2
    assert block[:3] == bytes([ymodem.STX, 1, 0xFE])
    assert block[3:6] == b"abc" and set(block[6:1027]) == {0x1A}
    assert int.from_bytes(block[-2:], "big") == ymodem._crc16(block[3:1027])


def test_header_block_carries_name_and_size():
    block = ymodem.header_block("hvmon.bin", 17208)
    assert block[:3] == bytes([ymodem.SOH, 0, 0xFF]) and len(block) == 133
    assert block[3:].startswith(b"hvmon.bin\x0017208\x00\x00")


def test_sequence_numbers_wrap_at_256():
    assert ymodem.make_block(256, b"", 1024)[1:3] == bytes([0, 0xFF])


def test_oversized_payload_is_a_programming_error():
    with pytest.raises(ValueError):
        ymodem.make_block(1, b"x" * 1025, 1024)


class ScriptedReceiver:
    """A loop:// line whose far end is driven by a generator of answers."""

    def __init__(self, answers_for):
        self.port = serial.serial_for_url("loop://", timeout=0.01)
        self.answers_for = answers_for
        self.sent = []

    def link(self) -> Expect:
        receiver = self

        class Link(Expect):
            def write(self, data):
                receiver.sent.append(bytes(data))
                for answer in receiver.answers_for(bytes(data), len(receiver.sent)):
                    receiver.port.write(answer)

        return Link(self.port)


def test_full_transfer_with_one_nak_and_the_end_of_batch():
    payload = bytes(range(256)) * 9          # 2304 bytes: three data blocks

    def answers(data, count):
        if data[0] == ymodem.STX and data[1] == 2 and not getattr(answers, "nakked", False):
            answers.nakked = True
            return [bytes([ymodem.NAK])]     # a corrupted block: sent again
        if data == bytes([ymodem.EOT]):
            return [bytes([ymodem.ACK, ord("C")])]
        return [bytes([ymodem.ACK])]

    receiver = ScriptedReceiver(answers)
    link = receiver.link()
    receiver.port.write(b"## Ready\r\nC")
    seen = []
    ymodem.send(link, payload, progress=lambda done, total: seen.append((done, total)))
    blocks = [s for s in receiver.sent if s[0] == ymodem.STX]
    assert [b[1] for b in blocks] == [1, 2, 2, 3]
    assert b"".join(b[3:1027] for b in (blocks[0], blocks[2], blocks[3]))[:len(payload)] == payload
    assert receiver.sent[-1] == ymodem.make_block(0, b"", 128)
    assert seen[-1] == (2304, 2304)


def test_a_cancelling_receiver_is_reported():
    receiver = ScriptedReceiver(lambda data, count: [bytes([ymodem.CAN])])
    receiver.port.write(b"C")
    with pytest.raises(BoardRefused, match="cancelled"):
        ymodem.send(receiver.link(), b"x" * 10)


def test_a_silent_receiver_times_out_naming_the_step():
    receiver = ScriptedReceiver(lambda data, count: [])
    with pytest.raises(StepTimeout, match="ymodem start"):
        ymodem.send(receiver.link(), b"x", timeout=0.2)
