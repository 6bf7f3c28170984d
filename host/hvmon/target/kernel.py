"""Guest kernels: arm64 Image (raw or gzip), EFI zboot, or ELF, detected from the bytes."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..errors import ConfigError

ARM64_MAGIC = b"ARM\x64"


@dataclass(frozen=True)
class KernelImage:
    data: bytes
    text_offset: int          # where in a 2 MiB-aligned block the image goes
    image_size: int           # bytes to reserve from the load address (bss included)
    entry_offset: int         # offset of the entry point within data
    format: str
    load_address: int | None = None   # ELF: the guest-physical address it is linked for


def _parse_image(path: Path, data: bytes, fmt: str) -> KernelImage:
    """Linux Documentation/arch/arm64/booting.rst: text_offset @8, image_size @16, flags
    @24 (bit 0 big-endian, bits 1-2 page size), magic "ARM\\x64" @0x38."""
    if len(data) < 64 or data[0x38:0x3C] != ARM64_MAGIC:
        raise ConfigError(f"{path}: not an arm64 Image (no 'ARM\\x64' magic at 0x38)")
    text_offset, image_size, flags = struct.unpack_from("<QQQ", data, 8)
    if flags & 1:
        raise ConfigError(f"{path}: big-endian kernel; guests run little-endian")
    if (flags >> 1) & 3 not in (0, 1):
        raise ConfigError(f"{path}: kernel built for a page size other than 4 KiB (flags {flags:#x})")
    if image_size == 0:                       # pre-3.17 kernels: the file is all there is
        image_size = len(data)
    if image_size < len(data):
        raise ConfigError(f"{path}: image_size {image_size} smaller than the file ({len(data)})")
    return KernelImage(data, text_offset, image_size, 0, fmt)


def _zboot(path: Path, data: bytes) -> KernelImage:
    offset, size = struct.unpack_from("<II", data, 8)
    kind = data[0x18:0x20].rstrip(b"\0").decode(errors="replace")
    if kind != "gzip":
        raise ConfigError(f"{path}: EFI zboot image compressed with {kind!r}; only gzip is supported")
    if offset + size > len(data):
        raise ConfigError(f"{path}: zboot payload runs past the end of the file")
    try:
        inner = gzip.decompress(data[offset:offset + size])
    except (OSError, zlib.error, EOFError) as exc:
        raise ConfigError(f"{path}: zboot payload does not decompress: {exc}") from None
    return _parse_image(path, inner, "zboot")


def _elf(path: Path, data: bytes) -> KernelImage:
    try:
        return _elf_image(path, ELFFile(io.BytesIO(data)))
    except ELFError as exc:
        raise ConfigError(f"{path}: not a readable ELF file: {exc}") from None


def _elf_image(path: Path, elf: ELFFile) -> KernelImage:
    if elf["e_machine"] != "EM_AARCH64":
        raise ConfigError(f"{path}: ELF for {elf['e_machine']}, not AArch64")
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
    if not loads:
        raise ConfigError(f"{path}: ELF has no loadable segment")
    base = min(s["p_paddr"] for s in loads)
    end = max(s["p_paddr"] + s["p_memsz"] for s in loads)
    image = bytearray(end - base)
    for s in loads:
        body = s.data()
        image[s["p_paddr"] - base: s["p_paddr"] - base + len(body)] = body
    entry = elf["e_entry"] - base
    if not 0 <= entry < len(image):
        raise ConfigError(f"{path}: ELF entry point {elf['e_entry']:#x} is outside its segments")
    size = (len(image) + 0xFFF) & ~0xFFF
    return KernelImage(bytes(image), 0, size, entry, "ELF", base)


def load_kernel(path: str | Path) -> KernelImage:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    if not data:
        raise ConfigError(f"{path}: empty file")
    if data[:2] == b"\x1f\x8b":
        try:
            return _parse_image(path, gzip.decompress(data), "Image.gz")
        except (OSError, zlib.error, EOFError) as exc:
            raise ConfigError(f"{path}: gzip data does not decompress: {exc}") from None
    if data[:2] == b"MZ" and data[4:8] == b"zimg":
        return _zboot(path, data)
    if data[:4] == b"\x7fELF":
        return _elf(path, data)
    return _parse_image(path, data, "Image")
