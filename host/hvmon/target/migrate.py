"""`hvmon migrate`: a running VM moved from board A to board B through the host.

Pre-copy while the guest runs on A: a snapshot on A freezes a first image of its RAM and
starts its dirty log; the pages of that image whose CRC differs from B's RAM are copied (B's
QEMU may hold the same kernel already). Then rounds: VM_DIRTY_FETCH takes the pages written
since the last round, and those are copied from A's live RAM (a page written again while it
is read is in the next round's set). When a round's set stops shrinking, or after
MAX_ROUNDS, stop-and-copy: the same snapshot taken again pauses the guest for its state
record and a frozen image of its RAM, keeping the log's bits (snapshot.c, start_logging);
A's VM is stopped, one more VM_DIRTY_FETCH names the pages written since the last round, and
those are copied from the frozen image; B installs the record (VM_STATE_PUT) and runs the
guest. Downtime: from that second take of the snapshot to B's answer. The guest runs on A
for a round trip after the take, until the stop: what it does then is not kept.

If anything fails once A's VM is stopped (B refuses the record, a line breaks), the half-made
VM on B is destroyed and A's VM is restored from the snapshot (VM_RESTORE of a stopped VM
starts it again from the take): the guest goes on on A as if it had been paused."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import protocol as P
from ..errors import ConfigError, HvmonError
from .board import Board
from .snapfile import RamRegion, record_facts
from .vm_file import PAGE, create_for_record, put_state, read_pages_at, snapshot_record
from .vms import Snapshot, destroy_vm, drop_snapshot, find_vm, restore_vm, snapshot_vm, stop_vm, vm_regions

TAG = "hvmon-migrate"
MAX_ROUNDS = 8
SMALL_SET = 16            # pages: a round this small is as short as the stop-and-copy's


class MigrateFailed(HvmonError):
    """The move did not happen; the message says where the VM runs now."""


@dataclass
class MigrateStats:
    name: str
    vm: int = -1                           # its id on B
    guest_ram: int = 0
    rounds: list[int] = field(default_factory=list)   # pages copied per pre-copy round
    first_copy: int = 0                    # bytes of the first image B did not hold (and CRCs)
    final_pages: int = 0                   # pages copied while the guest stood still
    bytes_moved: int = 0                   # guest RAM and state read from A and written to B
    downtime_s: float = 0.0                # A paused for the last time .. B running
    seconds: float = 0.0


def _regions(src: Board, vm_id: int, facts) -> list[RamRegion]:
    pa_of = {r.ipa: r.pa for r in vm_regions(src) if r.vm == vm_id}
    return [RamRegion(ipa, pa_of[ipa], size) for ipa, size in facts.ram]


def _page_pa(regions: list[RamRegion], page: int) -> int:
    for r in regions:
        if page < r.size // PAGE:
            return r.pa + page * PAGE
        page -= r.size // PAGE
    raise HvmonError(f"page {page} beyond the VM's RAM")


def dirty_pages(board: Board, vm_id: int, pages: int) -> list[int]:
    """Fetch and clear the VM's dirty log (VM_DIRTY_FETCH): the pages written since."""
    per_request = 8 * (P.MAX_PAYLOAD - P.PAYLOAD_HEADER - 4)
    out = []
    for first in range(0, pages, per_request):
        n = min(per_request, pages - first)
        (count,), bits = board.call(P.Command.VM_DIRTY_FETCH, vm_id, first, n,
                                    what=f"VM {vm_id} pages {first}+{n}")
        out += [first + i for i in range(count) if bits[i // 8] >> (i % 8) & 1]
    return out


def _copy_pages(src: Board, dst: Board, pages: list[int], src_pa, dst_regions) -> int:
    """Copy pages from where src_pa(page) says on A (reads pipelined, a page a request,
    deflated by A's stub where it can) to the VM's RAM on B (a write per run of
    consecutive pages, compressed)."""
    data, _ = read_pages_at(src, [src_pa(p) for p in pages])
    moved = 0
    run_at, run = None, bytearray()
    for page, content in zip(pages, data):
        pa = _page_pa(dst_regions, page)
        if run_at is not None and pa != run_at + len(run):
            dst.write(run_at, bytes(run), skip_unchanged=False, verify=False)
            run_at, run = None, bytearray()
        if run_at is None:
            run_at = pa
        run += content
        moved += len(content)
    if run_at is not None:
        dst.write(run_at, bytes(run), skip_unchanged=False, verify=False)
    return moved


def _first_image(src: Board, dst: Board, snap: Snapshot, record_size: int,
                 regions: list[RamRegion]) -> int:
    """The snapshot's RAM onto B: only the pages whose CRC differs from B's (a CRC per 4 KiB
    page costs 4 bytes each way; a 64 KiB chunk's would resend 60 KiB around each page the
    guest changed in a kernel B already holds)."""
    differ, first, image = [], 0, snap.pa + record_size
    for r in regions:
        theirs = src.crc_list(image, r.size, PAGE)
        ours = dst.crc_list(r.pa, r.size, PAGE)
        differ += [first + i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b]
        first += r.size // PAGE
        image += r.size
    base = snap.pa + record_size
    return _copy_pages(src, dst, differ, lambda p: base + p * PAGE, regions) + 8 * first


def migrate_vm(src: Board, dst: Board, name: str, max_rounds: int = MAX_ROUNDS,
               say=lambda text: None) -> MigrateStats:
    """Move running VM `name` from src to dst (same board profile); it runs on dst after."""
    started = time.monotonic()
    stats = MigrateStats(name)
    src_board, dst_board = src.info().board, dst.info().board
    if src_board != dst_board:
        raise ConfigError(f"migrate {name}: board profile: from {src_board!r} to {dst_board!r} "
                          "(a guest moves only between boards of one profile)")
    vm = find_vm(src, name)
    if vm.state != "running":
        raise ConfigError(f"migrate {name}: the VM is {vm.state} on the source board, not running")
    for r in vm_regions(src):
        if r.vm == vm.id and r.kind != "ram":
            raise ConfigError(f"migrate {name}: its {r.kind} region at IPA {r.ipa:#x} cannot move "
                              "(only VMs of plain RAM migrate)")
    pre = snapshot_vm(src, name, TAG).snapshot
    dst_id = None
    stopped = False
    try:
        record = snapshot_record(src, pre)
        facts = record_facts(record, f"VM {name}'s snapshot on the source board")
        regions = _regions(src, vm.id, facts)
        pages = pre.ram // PAGE
        stats.guest_ram = pre.ram
        dst_id = create_for_record(dst, facts, regions, name, f"migrate {name}")
        say(f"migrate {name}: first image ({pre.ram >> 20} MiB, chunks B lacks)")
        stats.first_copy = _first_image(src, dst, pre, len(record), regions)
        stats.bytes_moved = len(record) + stats.first_copy

        def live(page: int) -> int:
            return _page_pa(regions, page)

        previous = None
        for _ in range(max_rounds):
            dirty = dirty_pages(src, vm.id, pages)
            stats.bytes_moved += (pages + 7) // 8
            stats.bytes_moved += _copy_pages(src, dst, dirty, live, regions)
            stats.rounds.append(len(dirty))
            say(f"migrate {name}: round {len(stats.rounds)}: {len(dirty)} pages")
            if len(dirty) <= SMALL_SET or (previous is not None and len(dirty) >= previous):
                break
            previous = len(dirty)

        paused_at = time.monotonic()
        snapshot_vm(src, name, TAG)
        stop_vm(src, name)
        stopped = True
        last = dirty_pages(src, vm.id, pages)
        frozen = pre.pa + len(record)
        stats.bytes_moved += (pages + 7) // 8
        stats.bytes_moved += _copy_pages(src, dst, last, lambda p: frozen + p * PAGE, regions)
        final_record = snapshot_record(src, pre)
        stats.bytes_moved += len(final_record)
        put_state(dst, dst_id, final_record, f"{name} from the source board")
        stats.downtime_s = time.monotonic() - paused_at
        stats.final_pages = len(last)
    except BaseException as exc:
        problems = []
        if dst_id is not None:
            try:
                dst.call(P.Command.VM_DESTROY, dst_id)
            except Exception as cleanup:          # noqa: BLE001 (reported with the cause)
                problems.append(f"destroying the half-made VM on the target failed: {cleanup}")
        if stopped:
            try:
                restore_vm(src, name, TAG)
                problems.append("the VM runs on the source board again from where it was paused")
            except Exception as cleanup:          # noqa: BLE001
                problems.append(f"restoring it on the source board failed: {cleanup}")
        _drop(src, name)
        if isinstance(exc, HvmonError):
            raise MigrateFailed(f"{exc}" + (f" ({'; '.join(problems)})" if problems else "")
                                ) from exc
        raise
    destroy_vm(src, name)                          # its snapshots go with it
    stats.vm = dst_id
    stats.seconds = time.monotonic() - started
    return stats


def _drop(board: Board, name: str) -> None:
    try:
        drop_snapshot(board, name, TAG)
    except HvmonError:
        pass                                       # never taken
