"""`vm save` and `vm load`: a VM to a file on the host and back onto a board.

Save takes a snapshot in board RAM, asks the stub which of its pages hold anything but
zeros (MEM_NONZERO: zero pages never cross the line), reads those compressed by the stub
(MEM_READ_DEFLATE, deflated_read.py), and writes the file
(snapfile.py). Load checks the whole file first, creates the VM with the regions and
placement its record names, writes its RAM with Board.write (only 64 KiB chunks whose CRC
differs from the board's are sent, compressed), stages the state record and hands it to
the stub (VM_STATE_PUT), which checks it again and runs the VM. Any refusal destroys the
half-made VM: nothing is left installed."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path

from .. import protocol as P
from ..errors import ConfigError
from .board import Board
from .deflated_read import inflate_piece, read_into
from .snapfile import CHUNK, Chunk, RamRegion, SnapFile, read_snapfile, record_facts, write_snapfile
from .vms import drop_snapshot, find_vm, snapshot_vm, vm_list, vm_regions

PAGE = 4096
SAVE_TAG = "hvmon-save"


@dataclass(frozen=True)
class SaveStats:
    guest_ram: int
    pages_sent: int              # non-zero pages read over the line
    wire_bytes: int              # response bytes that carried the record, bitmaps and pages
    file_bytes: int
    paused_us: int               # the snapshot's pause of the guest
    seconds: float

    @property
    def wire_ratio(self) -> float:
        return self.wire_bytes / self.guest_ram


@dataclass(frozen=True)
class LoadStats:
    vm: int
    name: str
    guest_ram: int
    sent: int                    # RAM bytes that differed from the board's and were pushed
    skipped: int
    seconds: float


def nonzero_pages(board: Board, addr: int, length: int) -> list[int]:
    """Indexes of the 4 KiB pages of [addr, addr+length) holding a non-zero byte."""
    per_request = 8 * (P.MAX_PAYLOAD - P.PAYLOAD_HEADER - 4) * PAGE     # the bitmap one answer holds
    pages = []
    for start in range(0, length, per_request):
        n = min(per_request, length - start)
        (count,), bits = board.call(P.Command.MEM_NONZERO, addr + start, n,
                                    what=f"{addr + start:#x}+{n:#x}")
        first = start // PAGE
        pages += [first + i for i in range(count) if bits[i // 8] >> (i % 8) & 1]
    return pages


def read_pages(board: Board, base: int, ram: int, pages: list[int], progress=None) -> tuple[list[bytes], int]:
    """The pages' contents and the response bytes that carried them. With READ_DEFLATE the
    stub compresses each page with the 32 KiB before it as history: the host holds those
    bytes, read just before or zeros MEM_NONZERO vouched for."""
    if P.Capability.READ_DEFLATE in board.info().capabilities:
        image = bytearray(ram)
        stats = read_into(board, image, base, (p * PAGE for p in pages), PAGE, progress)
        return [bytes(image[p * PAGE:(p + 1) * PAGE]) for p in pages], stats.wire
    requests = ((P.Command.MEM_READ, (base + p * PAGE, PAGE), b"", f"at {base + p * PAGE:#x}", PAGE)
                for p in pages)
    return board._pipeline(requests, progress, len(pages) * PAGE), len(pages) * (P.PAYLOAD_HEADER + PAGE)


def wire_of(board: Board, length: int) -> int:
    """Response bytes the board's last read of `length` bytes took."""
    if board.last_read:
        return board.last_read.wire
    return length + -(-length // board.info().data_chunk) * P.PAYLOAD_HEADER


def chunks_of(pages: list[int], data: list[bytes]) -> list[Chunk]:
    """64 KiB chunks holding the given pages, zeros where a page was not read."""
    out: dict[int, bytearray] = {}
    for page, content in zip(pages, data):
        offset = page * PAGE
        chunk = out.setdefault(offset - offset % CHUNK, bytearray(CHUNK))
        chunk[offset % CHUNK:offset % CHUNK + PAGE] = content
    return [Chunk(o, bytes(c)) for o, c in sorted(out.items())]


def snapshot_record(board: Board, snap, compress: bool = False) -> bytes:
    """The state record at the start of a snapshot in board RAM (its size is its 3rd field).
    compress: one compressed read of the whole record (its first page read first, for
    the size); board.last_read then counts the bytes both reads took on the wire."""
    head = board.read(snap.pa, PAGE, compress=compress)
    wire = board.last_read.wire if board.last_read else 0
    record_size = struct.unpack_from("<Q", head, 8)[0]
    if not PAGE <= record_size <= snap.size:
        raise ConfigError(f"snapshot {snap.tag} at {snap.pa:#x}: record size {record_size:#x} "
                          f"outside the snapshot's {snap.size:#x} bytes")
    if record_size == PAGE:
        return head
    record = board.read(snap.pa, record_size, compress=compress)
    if board.last_read:
        board.last_read.wire += wire
    return record


def read_pages_at(board: Board, addrs: list[int]) -> tuple[list[bytes], int]:
    """The 4 KiB pages at scattered addresses, and the response bytes that carried them:
    each page deflated alone by the stub where it can (no history: the pages around it
    are not the host's), pipelined a page a request."""
    if P.Capability.READ_DEFLATE not in board.info().capabilities:
        requests = ((P.Command.MEM_READ, (a, PAGE), b"", f"at {a:#x}", PAGE) for a in addrs)
        return (board._pipeline(requests, None, len(addrs) * PAGE),
                len(addrs) * (P.PAYLOAD_HEADER + PAGE))
    requests = ((P.Command.MEM_READ_DEFLATE, (a, PAGE, 0), b"", f"at {a:#x}", PAGE) for a in addrs)
    answers = board._pipeline(requests, None, len(addrs) * PAGE, with_fields=True)
    pages, wire = [], 0
    for a, ((raw_crc,), stream) in zip(addrs, answers):
        pages.append(inflate_piece(bytes(stream), b"", PAGE, raw_crc, f"at {a:#x}+{PAGE:#x}"))
        wire += P.PAYLOAD_HEADER + 4 + len(stream)
    return pages, wire


def save_vm(board: Board, name: str, path: str | Path, progress=None) -> SaveStats:
    """Snapshot VM `name` (it goes on running) and write it to `path`."""
    started = time.monotonic()
    vm = find_vm(board, name)
    for r in vm_regions(board):
        if r.vm == vm.id and r.kind != "ram":
            raise ConfigError(f"vm save {name}: its {r.kind} region at IPA {r.ipa:#x} cannot go "
                              "into a file (only VMs of plain RAM are saved)")
    taken = snapshot_vm(board, name, SAVE_TAG)
    try:
        snap = taken.snapshot
        record = snapshot_record(board, snap, compress=True)
        record_wire = board.last_read.wire if board.last_read else 0
        record_size = len(record)
        facts = record_facts(record, f"VM {name}'s snapshot")
        ram_pa = {r.ipa: r.pa for r in vm_regions(board) if r.vm == vm.id}
        regions = [RamRegion(ipa, ram_pa[ipa], size) for ipa, size in facts.ram]
        base = snap.pa + record_size
        pages = nonzero_pages(board, base, snap.ram)
        data, pages_wire = read_pages(board, base, snap.ram, pages, progress)
        info = board.info()
        out = SnapFile(info.board, P.VERSION, name, regions, record, chunks_of(pages, data))
        size = write_snapfile(Path(path), out)
    finally:
        drop_snapshot(board, name, SAVE_TAG)
    bitmap_bytes = (snap.ram // PAGE + 7) // 8
    return SaveStats(snap.ram, len(pages), record_wire + bitmap_bytes + pages_wire, size,
                     taken.paused_us, time.monotonic() - started)


def create_for_record(board: Board, facts, regions: list[RamRegion], name: str, where: str) -> int:
    """A created VM (never run) shaped as a state record says, at the regions' PAs: its id."""
    if any(e.name == name for e in vm_list(board)):
        raise ConfigError(f"{where}: name: a VM called {name!r} exists already on the board "
                          "(vm destroy it, or load with --name)")
    for r in regions:
        board.check_range(r.pa, r.size, writing=True)
    first = regions[0].ipa
    (vm_id,), _ = board.call(P.Command.VM_CREATE, facts.vcpus, facts.privileged, facts.console_irq,
                             facts.console_ipa, 0, first, first, facts.gicd_ipa, facts.gicr_ipa,
                             data=name.encode(), what=name)
    try:
        for r in regions:
            board.call(P.Command.VM_MAP, vm_id, 0, r.ipa, r.pa, r.size, what=f"{name} memory {r.ipa:#x}")
    except BaseException:
        board.call(P.Command.VM_DESTROY, vm_id)
        raise
    return vm_id


def put_state(board: Board, vm_id: int, record: bytes, what: str) -> None:
    """Stage a state record and hand it to created VM vm_id, which then runs (VM_STATE_PUT)."""
    info = board.info()
    if len(record) > info.staging_size:
        raise ConfigError(f"{what}: state record: {len(record)} bytes, more than the stub's "
                          f"staging buffer ({info.staging_size})")
    for at in range(0, len(record), info.data_chunk):
        board.call(P.Command.MEM_STAGE, at, data=record[at:at + info.data_chunk])
    board.call(P.Command.VM_STATE_PUT, vm_id, len(record), what=what)


def install(board: Board, snap: SnapFile, name: str, where: str, progress=None) -> LoadStats:
    """Create VM `name` from a checked SnapFile on this board and run it."""
    started = time.monotonic()
    facts = record_facts(snap.record, where)
    if [(r.ipa, r.size) for r in snap.regions] != list(facts.ram):
        raise ConfigError(f"{where}: regions: the header's RAM regions are not the state record's")
    if len(snap.record) > board.info().staging_size:
        raise ConfigError(f"{where}: state record: {len(snap.record)} bytes, more than the stub's "
                          f"staging buffer ({board.info().staging_size})")
    vm_id = create_for_record(board, facts, snap.regions, name, where)
    sent = skipped = 0
    try:
        for i, r in enumerate(snap.regions):
            stats = board.write(r.pa, snap.region_image(i), progress=progress)
            sent += stats.total - stats.skipped
            skipped += stats.skipped
        put_state(board, vm_id, snap.record, f"{name} from {where}")
    except BaseException:
        board.call(P.Command.VM_DESTROY, vm_id)
        raise
    return LoadStats(vm_id, name, snap.ram_size, sent, skipped, time.monotonic() - started)


def load_vm(board: Board, path: str | Path, name: str | None = None, progress=None) -> LoadStats:
    """Create a VM from a file `vm save` wrote, on a board of the profile it was made for."""
    snap = read_snapfile(path, board=board.info().board)
    return install(board, snap, name or snap.vm, str(path), progress)
