"""Addresses to `function+offset` from an ELF's symbol table (pyelftools), for the
stub's own faults and for guests whose kernel was loaded from an ELF."""

from __future__ import annotations

import bisect
from pathlib import Path

from ..errors import ConfigError


class SymbolTable:
    """Functions and other code/data symbols, sorted by address. A symbol without a
    size (assembly labels) covers everything up to the next symbol."""

    def __init__(self, path: str | Path):
        # Imported here: pyelftools takes a fifth of a second to import, which every CLI
        # call would pay, while symbols are only needed once a fault is reported.
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection

        self.path = Path(path)
        entries: dict[int, tuple[str, int]] = {}
        try:
            with open(self.path, "rb") as f:
                elf = ELFFile(f)
                for section in elf.iter_sections():
                    if not isinstance(section, SymbolTableSection):
                        continue
                    for sym in section.iter_symbols():
                        kind = sym["st_info"]["type"]
                        if kind not in ("STT_FUNC", "STT_NOTYPE", "STT_OBJECT") or not sym.name \
                                or sym["st_shndx"] in ("SHN_UNDEF", "SHN_ABS") or sym.name.startswith("$"):
                            continue    # "$x"/"$d" are AArch64 mapping symbols, not names
                        addr = sym["st_value"]
                        best = entries.get(addr)
                        # Prefer a function over a label at the same address.
                        if best is None or (kind == "STT_FUNC" and best[1] == 0):
                            entries[addr] = (sym.name, sym["st_size"])
        except OSError as exc:
            raise ConfigError(f"{self.path}: {exc.strerror}") from None
        except ELFError as exc:
            raise ConfigError(f"{self.path}: not a readable ELF file: {exc}") from None
        self.addresses = sorted(entries)
        self.symbols = [entries[a] for a in self.addresses]

    def __len__(self) -> int:
        return len(self.addresses)

    def address(self, name: str) -> int | None:
        """The address of a symbol by name (for arguments like `hvc echo main`)."""
        for addr, (sym, _) in zip(self.addresses, self.symbols):
            if sym == name:
                return addr
        return None

    def lookup(self, addr: int) -> str | None:
        """'name+0xoff' for the symbol containing addr, or None."""
        i = bisect.bisect_right(self.addresses, addr) - 1
        if i < 0:
            return None
        base = self.addresses[i]
        name, size = self.symbols[i]
        if size and addr >= base + size:
            return None
        if not size and i + 1 == len(self.addresses) and addr - base > 0x100000:
            return None          # far past the last label: not this image
        return name if addr == base else f"{name}+{addr - base:#x}"


def is_elf(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


class Symbolizer:
    """The stub's table and one per guest VM id; `describe` is what events print. The
    stub's ELF is read when a symbol is first asked for, not when the board is opened."""

    def __init__(self, stub_elf: str | Path | None = None):
        self._stub_elf = Path(stub_elf) if stub_elf else None
        self._stub: SymbolTable | None = None
        self.guests: dict[int, SymbolTable] = {}

    @property
    def stub(self) -> SymbolTable | None:
        if self._stub is None and self._stub_elf is not None:
            elf, self._stub_elf = self._stub_elf, None       # one attempt, even if it fails
            try:
                self._stub = SymbolTable(elf) if elf.is_file() else None
            except ConfigError:
                self._stub = None           # unreadable: addresses stay bare, as without one
        return self._stub

    def add_guest(self, vm: int, kernel: str | Path) -> bool:
        """Remember a guest's symbols when its kernel is an ELF; False otherwise."""
        if not is_elf(kernel):
            self.guests.pop(vm, None)
            return False
        self.guests[vm] = SymbolTable(kernel)
        return True

    def forget_guest(self, vm: int) -> None:
        self.guests.pop(vm, None)

    def describe(self, addr: int, vm: int | None = None) -> str:
        """'0x40000004 (_start+0x4)', or the bare address when no table knows it."""
        table = self.guests.get(vm) if vm is not None else self.stub
        name = table.lookup(addr) if table else None
        return f"{addr:#x} ({name})" if name else f"{addr:#x}"
