"""A device tree being edited with libfdt, addressed by path.

libfdt works on node offsets, and every added or deleted node moves the offsets after it.
Cutting a guest's DTB deletes most of a board's tree, so this wrapper looks nodes up by
path for each operation, grows the blob when libfdt runs out of room, and lists nodes and
properties as plain Python values."""

from __future__ import annotations

import struct

import libfdt

from ..errors import ConfigError

GROW = 64 * 1024


class Tree:
    def __init__(self, blob: bytes, name: str = "board DTB"):
        self.name = name                  # for errors: "board DTB", a file path
        try:
            self.fdt = libfdt.Fdt(bytes(blob))
            self.fdt.resize(self.fdt.totalsize() + GROW)
        except libfdt.FdtException as exc:
            raise ConfigError(f"{name}: not a valid DTB ({exc})") from None

    # --- reading ---------------------------------------------------------------------------

    def offset(self, path: str) -> int:
        try:
            return self.fdt.path_offset(path)
        except libfdt.FdtException:
            raise ConfigError(f"{self.name}: no node {path}") from None

    def exists(self, path: str) -> bool:
        try:
            self.fdt.path_offset(path)
            return True
        except libfdt.FdtException:
            return False

    def children(self, path: str) -> list[str]:
        """Paths of a node's subnodes, in tree order."""
        out = []
        prefix = "" if path == "/" else path
        try:
            node = self.fdt.first_subnode(self.offset(path))
        except libfdt.FdtException:
            return out
        while True:
            out.append(f"{prefix}/{self.fdt.get_name(node)}")
            try:
                node = self.fdt.next_subnode(node)
            except libfdt.FdtException:
                return out

    def walk(self, path: str = "/") -> list[str]:
        """This node and every node below it, parents first."""
        out = [path]
        for child in self.children(path):
            out += self.walk(child)
        return out

    def props(self, path: str) -> dict[str, bytes]:
        node = self.offset(path)
        out = {}
        try:
            prop = self.fdt.first_property_offset(node)
        except libfdt.FdtException:
            return out
        while True:
            p = self.fdt.get_property_by_offset(prop)
            out[p.name] = bytes(p)
            try:
                prop = self.fdt.next_property_offset(prop)
            except libfdt.FdtException:
                return out

    def get(self, path: str, name: str) -> bytes | None:
        try:
            return bytes(self.fdt.getprop(self.offset(path), name))
        except libfdt.FdtException:
            return None

    def u32(self, path: str, name: str, default: int | None = None) -> int | None:
        raw = self.get(path, name)
        return struct.unpack(">I", raw[:4])[0] if raw and len(raw) >= 4 else default

    def cells(self, path: str, name: str) -> list[int]:
        raw = self.get(path, name) or b""
        return list(struct.unpack(f">{len(raw) // 4}I", raw[:len(raw) // 4 * 4]))

    def strings(self, path: str, name: str) -> list[str]:
        raw = self.get(path, name)
        return [s.decode(errors="replace") for s in raw.split(b"\0") if s] if raw else []

    def compatible(self, path: str) -> list[str]:
        return self.strings(path, "compatible")

    def phandle(self, path: str) -> int | None:
        return self.u32(path, "phandle") or self.u32(path, "linux,phandle")

    def by_phandle(self, phandle: int) -> str | None:
        try:
            return self.fdt.get_path(self.fdt.node_offset_by_phandle(phandle))
        except libfdt.FdtException:
            return None

    def reg(self, path: str, addr_cells: int, size_cells: int) -> list[tuple[int, int]]:
        """(address, size) pairs of a node's reg, with its parent's cell counts."""
        words = self.cells(path, "reg")
        step = addr_cells + size_cells
        out = []
        for i in range(0, len(words) - step + 1, step):
            addr = _join(words[i:i + addr_cells])
            size = _join(words[i + addr_cells:i + step])
            out.append((addr, size))
        return out

    def find_compatible(self, compatible: str, under: str = "/") -> str | None:
        for path in self.walk(under):
            if compatible in self.compatible(path):
                return path
        return None

    # --- writing -----------------------------------------------------------------------------

    def _retry(self, op):
        """Run a libfdt write, growing the blob while it says there is no room."""
        for _ in range(64):
            try:
                return op()
            except libfdt.FdtException as exc:
                if exc.err != -libfdt.NOSPACE:
                    raise
                self.fdt.resize(self.fdt.totalsize() + GROW)
        raise ConfigError(f"{self.name}: the guest DTB keeps growing")

    def set(self, path: str, name: str, value: bytes) -> None:
        self._retry(lambda: self.fdt.setprop(self.offset(path), name, value))

    def set_str(self, path: str, name: str, value: str) -> None:
        self.set(path, name, value.encode() + b"\0")

    def set_strings(self, path: str, name: str, values: list[str]) -> None:
        self.set(path, name, b"".join(v.encode() + b"\0" for v in values))

    def set_cells(self, path: str, name: str, values: list[int]) -> None:
        self.set(path, name, struct.pack(f">{len(values)}I", *values))

    def delete_prop(self, path: str, name: str) -> None:
        try:
            self.fdt.delprop(self.offset(path), name)
        except libfdt.FdtException:
            pass                                   # not there: nothing to drop

    def add(self, parent: str, name: str) -> str:
        self._retry(lambda: self.fdt.add_subnode(self.offset(parent), name))
        return f"{'' if parent == '/' else parent}/{name}"

    def delete(self, path: str) -> None:
        self.fdt.del_node(self.offset(path))

    def rename(self, path: str, name: str) -> str:
        self._retry(lambda: self.fdt.set_name(self.offset(path), name))
        return f"{path.rsplit('/', 1)[0] or ''}/{name}"

    def new_phandle(self) -> int:
        used = [self.phandle(p) or 0 for p in self.walk()]
        return max(used, default=0) + 1

    def blob(self) -> bytes:
        self.fdt.pack()
        return bytes(self.fdt.as_bytearray())


def _join(words: list[int]) -> int:
    value = 0
    for w in words:
        value = value << 32 | w
    return value


def split(value: int, cells: int) -> list[int]:
    """An address or size as `cells` 32-bit cells, most significant first."""
    return [(value >> (32 * (cells - 1 - i))) & 0xFFFFFFFF for i in range(cells)]
