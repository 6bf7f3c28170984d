"""Frames: encoding, CRC, COBS, and a decoder that resynchronises after any garbage."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from hvmon import protocol as P
from hvmon.transport.framing import Frame, FrameDecoder, crc32c, decode, encode

frames = st.builds(
    Frame,
    type=st.sampled_from(list(P.FrameType)),
    channel=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    ack=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=P.MAX_PAYLOAD),
)


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283       # the CRC-32C catalogue check value


@given(frames)
@settings(max_examples=200)
def test_round_trip(frame):
    wire = encode(frame)
    assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
    assert FrameDecoder().feed(wire) == [frame]


@given(st.lists(frames, min_size=1, max_size=5), st.randoms())
@settings(max_examples=100)
def test_any_split_of_the_stream_gives_the_same_frames(frame_list, rnd):
    wire = b"".join(encode(f) for f in frame_list)
    decoder, out, at = FrameDecoder(), [], 0
    while at < len(wire):
        step = rnd.randint(1, 700)
        out += decoder.feed(wire[at:at + step])
        at += step
    assert out == frame_list


@given(frames, st.binary(max_size=600), frames)
@settings(max_examples=200)
def test_garbage_between_frames_costs_nothing_but_itself(first, garbage, second):
    decoder = FrameDecoder()
    got = decoder.feed(encode(first) + garbage + b"\x00" + encode(second))
    assert got[0] == first and got[-1] == second
    assert len(got) <= 3       # garbage can only form a valid frame by CRC coincidence


@given(frames, st.integers(0, 10_000), st.integers(0, 7))
@settings(max_examples=300)
def test_a_flipped_bit_is_never_delivered(frame, position, bit):
    wire = bytearray(encode(frame))
    index = position % (len(wire) - 1)
    wire[index] ^= 1 << bit
    decoder = FrameDecoder()
    assert decoder.feed(bytes(wire)) == []
    assert decoder.rejected >= 1


def test_decode_rejects_wrong_lengths_and_types():
    raw = bytearray(b"\x10\x00\x00\x00\x00\x00\x05\x00hello")
    raw += crc32c(bytes(raw)).to_bytes(4, "little")
    assert decode(bytes(raw)) is not None
    bad_length = bytearray(raw)
    bad_length[6] = 4
    assert decode(bytes(bad_length)) is None
    bad_type = bytearray(raw[:-4])
    bad_type[0] = 0x03
    bad_type += crc32c(bytes(bad_type)).to_bytes(4, "little")
    assert decode(bytes(bad_type)) is None


def test_text_without_delimiters_is_kept_as_noise():
    decoder = FrameDecoder()
    banner = b"U-Boot 2023.01 ... " * 400
    assert decoder.feed(banner) == []
    assert b"U-Boot 2023.01" in decoder.noise


def test_random_streams_never_crash_the_decoder():
    rnd = random.Random(7)
    decoder = FrameDecoder()
    for _ in range(200):
        decoder.feed(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 2000))))
    assert decoder.rejected > 0
