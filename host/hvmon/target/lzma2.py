"""Raw LZMA2 compression for MEM_UNLZMA, with a preset dictionary.

Python's `lzma` module makes raw LZMA2 streams but cannot pass liblzma a preset dictionary
(lzma_options_lzma.preset_dict), which is what lets a block refer back into the bytes
before it already on the board. So this calls liblzma (the library `lzma` itself wraps)
through ctypes for that, and uses `lzma` when there is no dictionary or no liblzma.
The ctypes calls release the GIL, so blocks compress in parallel in threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import lzma

PRESET = 9 | lzma.PRESET_EXTREME
# lp = 2: literals keyed by position in a 4-byte arm64 instruction (blocks and their
# dictionaries start 4-aligned). On Debian's arm64 kernel, 1 MiB dictionaries: lc1 lp2 pb2
# leaves 0.2844 where xz's default lc3 lp0 pb2 leaves 0.2879. The stub refuses lc + lp > 4.
LC, LP, PB = 1, 2, 2
FILTER_LZMA2 = 0x21                 # lzma.FILTER_LZMA2, liblzma's filter id
VLI_UNKNOWN = 2**64 - 1             # ends a liblzma filter chain
LZMA_OK, LZMA_STREAM_END, LZMA_FINISH = 0, 1, 3
MIN_DICT = 4096                     # liblzma's smallest dict_size


class _Options(ctypes.Structure):
    """lzma_options_lzma (liblzma 5.x, lzma/lzma12.h); reserved tail kept zero."""
    _fields_ = [("dict_size", ctypes.c_uint32), ("preset_dict", ctypes.c_void_p),
                ("preset_dict_size", ctypes.c_uint32), ("lc", ctypes.c_uint32),
                ("lp", ctypes.c_uint32), ("pb", ctypes.c_uint32), ("mode", ctypes.c_int),
                ("nice_len", ctypes.c_uint32), ("mf", ctypes.c_int), ("depth", ctypes.c_uint32),
                ("reserved", ctypes.c_uint8 * 128)]


class _Filter(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("options", ctypes.c_void_p)]


class _Stream(ctypes.Structure):
    """lzma_stream; the reserved fields (and room for any added later) stay zero, which is
    LZMA_STREAM_INIT."""
    _fields_ = [("next_in", ctypes.c_void_p), ("avail_in", ctypes.c_size_t),
                ("total_in", ctypes.c_uint64), ("next_out", ctypes.c_void_p),
                ("avail_out", ctypes.c_size_t), ("total_out", ctypes.c_uint64),
                ("allocator", ctypes.c_void_p), ("internal", ctypes.c_void_p),
                ("reserved", ctypes.c_uint8 * 256)]


def _load():
    name = ctypes.util.find_library("lzma")
    for candidate in ([name] if name else []) + ["liblzma.so.5", "liblzma.dylib"]:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        lib.lzma_lzma_preset.argtypes = [ctypes.POINTER(_Options), ctypes.c_uint32]
        lib.lzma_raw_encoder.argtypes = [ctypes.POINTER(_Stream), ctypes.POINTER(_Filter)]
        lib.lzma_code.argtypes = [ctypes.POINTER(_Stream), ctypes.c_int]
        lib.lzma_end.argtypes = [ctypes.POINTER(_Stream)]
        return lib
    return None


_liblzma = _load()
PRESET_DICT = _liblzma is not None      # False: blocks are compressed without history


def compress(data: bytes, dictionary: bytes = b"", preset: int = PRESET,
             lc: int = LC, lp: int = LP, pb: int = PB) -> bytes:
    """Raw LZMA2 chunks (ending with the 0x00 end marker) of data, whose matches may reach
    back into dictionary: the bytes just before data, which the decoder has in place.
    dict_size covers dictionary + data, so liblzma keeps the whole dictionary."""
    dict_size = max(MIN_DICT, len(dictionary) + len(data))
    if not dictionary:
        return lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{
            "id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": dict_size,
            "lc": lc, "lp": lp, "pb": pb}])
    if _liblzma is None:
        raise RuntimeError("liblzma not found: no preset dictionaries for LZMA2")
    options = _Options()
    if _liblzma.lzma_lzma_preset(ctypes.byref(options), preset):
        raise ValueError(f"bad LZMA preset {preset:#x}")
    dict_buffer = ctypes.create_string_buffer(dictionary, len(dictionary))
    options.dict_size, options.lc, options.lp, options.pb = dict_size, lc, lp, pb
    options.preset_dict = ctypes.cast(dict_buffer, ctypes.c_void_p)
    options.preset_dict_size = len(dictionary)
    filters = (_Filter * 2)(_Filter(FILTER_LZMA2, ctypes.cast(ctypes.byref(options), ctypes.c_void_p)),
                            _Filter(VLI_UNKNOWN, None))
    stream = _Stream()
    ret = _liblzma.lzma_raw_encoder(ctypes.byref(stream), filters)
    if ret != LZMA_OK:
        raise ValueError(f"liblzma refused the LZMA2 options (lzma_ret {ret})")
    try:
        source = ctypes.create_string_buffer(data, len(data))
        out = ctypes.create_string_buffer(len(data) + len(data) // 64 + 4096)  # > worst case
        stream.next_in, stream.avail_in = ctypes.cast(source, ctypes.c_void_p), len(data)
        stream.next_out, stream.avail_out = ctypes.cast(out, ctypes.c_void_p), len(out)
        ret = _liblzma.lzma_code(ctypes.byref(stream), LZMA_FINISH)
        if ret != LZMA_STREAM_END:
            raise RuntimeError(f"liblzma stopped with lzma_ret {ret}")
        return out.raw[:stream.total_out]
    finally:
        _liblzma.lzma_end(ctypes.byref(stream))
