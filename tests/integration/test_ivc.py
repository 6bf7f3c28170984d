"""IVC on the QEMU board (issue 13): two hostile guests share a page named `chan` in both
configs and ping-pong 10,000 messages through it, each woken by the doorbell SPI its
peer raises with the ivc_ring hypercall. The round-trip time is measured by the ping
guest (CNTVCT_EL0) and printed, not asserted. Around it: the overlaps the stub must
still refuse, `vm info`'s view of the share, and what destroying each party does."""

from __future__ import annotations

import os
import re

import pytest

from hvmon import protocol as P
from hvmon.target.board import StubError
from hvmon.target.vms import vm_regions, vm_shares
from hvmon.ui.commands.vm_cmds import share_line
from tests.budget import doing
from tests.integration.hostile import HOSTILE_IPA, HOSTILE_SIZE, calls, hostile_config, status

ROUND_TRIPS = 10_000
SHARE_IPA = 0x71000000          # past the guests' 4 MiB of RAM at IPA 0x70000000
SHARE_SIZE = 0x1000
PING_IRQ, PONG_IRQ = 40, 41     # each guest's doorbell: the SPI it gets when the other rings
PING_PA, PONG_PA, THIRD_PA = 0x60000000, 0x60800000, 0x61000000
HVC_IVC_RING = 0xC600000A

pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=4),
              pytest.mark.budget(bringups=1, line_bytes=3 * 150_000, seconds=240)]


def ivc_config(name: str, core: int, pa: int, steps: str, irq: int, share: str = "chan") -> dict:
    config = hostile_config(steps, name=name, core=core)
    config["memory"] = [{"ipa": HOSTILE_IPA, "size": HOSTILE_SIZE, "pa": pa}]
    config["shared"] = [{"name": share, "size": SHARE_SIZE, "ipa": SHARE_IPA, "doorbell_irq": irq}]
    return config


@pytest.fixture
def factory(hvmon_target, hvmon_capture, request):
    from hvmon.hil.guests import VmFactory
    made = VmFactory(hvmon_target, hvmon_capture, base=request.config.rootpath)
    yield made
    assert not made.cleanup()


def refused(board, command, *fields, data=b"") -> StubError:
    with pytest.raises(StubError) as caught:
        board.call(command, *fields, data=data)
    return caught.value


def test_two_guests_ping_pong_through_a_share_and_its_doorbells(board, factory):
    doing("starting the pong guest, then the ping guest")
    pong = factory(ivc_config("pong", 1, PONG_PA, f"pong:{SHARE_IPA:#x}:{ROUND_TRIPS}:{PONG_IRQ}",
                              PONG_IRQ))
    pong.console.expect(rb"ivc pong: ready", 30)
    # Before the ping: a ring outside any share, then the real thing.
    ping = factory(ivc_config("ping", 2, PING_PA,
                              f"hvc:{HVC_IVC_RING:#x}:{HOSTILE_IPA:#x} "
                              f"ping:{SHARE_IPA:#x}:{ROUND_TRIPS}:{PING_IRQ}", PING_IRQ))
    doing(f"{ROUND_TRIPS} IVC round trips")
    ping.console.expect(rb"hostile: done", 600)
    out = ping.console.text
    assert calls(out) == [("hvc", HVC_IVC_RING, (status("REFUSED_RANGE"), HOSTILE_IPA, 0, 0))]
    assert re.search(rf"ivc ping: {ROUND_TRIPS} messages, 0 ring errors", out), out
    n, ticks, hz = map(int, re.search(r"ivc rtt: (\d+) round trips in (\d+) ticks at (\d+) Hz",
                                      out).groups())
    pong.console.expect(rb"hostile: done", 60)
    assert re.search(rf"ivc pong: {ROUND_TRIPS} messages, 0 ring errors", pong.console.text)
    load = os.getloadavg()[0]
    print(f"\nIVC round trip on the QEMU board: {ticks / n / hz * 1e6:.1f} us "
          f"({n} round trips, {ticks} ticks at {hz} Hz; load average {load:.1f})")

    doing("vm info's view of the share")
    (ping_share,) = vm_shares(board, ping.id)
    (pong_share,) = vm_shares(board, pong.id)
    assert ping_share.pa == pong_share.pa and ping_share.size == SHARE_SIZE
    assert (ping_share.name, ping_share.ipa, ping_share.peer, ping_share.doorbell_irq,
            ping_share.peer_doorbell_irq) == ("chan", SHARE_IPA, "pong", PING_IRQ, PONG_IRQ)
    assert pong_share.peer == "ping"
    assert "with pong; doorbell: SPI 40 here, SPI 41 in pong" in share_line(ping_share)
    share_pa = ping_share.pa
    # The last message is still in the page: pong wrote it, ping read it.
    last = int.from_bytes(board.read(share_pa + 64, 8), "little")
    assert last & 0xFFFFFFFF == ROUND_TRIPS

    doing("destroying pong: the page stays, unscrubbed, for ping")
    pong.destroy()
    factory.handles.remove(pong)
    assert int.from_bytes(board.read(share_pa + 64, 8), "little") == last
    assert [(r.share, r.vm) for r in vm_regions(board) if r.kind == "shared"] == [("chan", ping.id)]
    doing("destroying ping, the last party: the page is zeroed and the share forgotten")
    ping.destroy()
    factory.handles.remove(ping)
    assert board.read(share_pa, SHARE_SIZE) == bytes(SHARE_SIZE)
    assert not [r for r in vm_regions(board) if r.kind == "shared"]


def test_only_a_second_vm_naming_the_share_may_overlap_it(board, factory):
    a = factory(ivc_config("a", 1, PING_PA, "", PING_IRQ), start=False)
    (share,) = vm_shares(board, a.id)
    b = factory(ivc_config("b", 2, PONG_PA, "", PONG_IRQ), start=False)
    assert vm_shares(board, b.id)[0].pa == share.pa
    c = factory(hostile_config("", name="c", core=3) | {
        "memory": [{"ipa": HOSTILE_IPA, "size": HOSTILE_SIZE, "pa": THIRD_PA}]}, start=False)

    doing("plain RAM over the share, in a party and in a third VM")
    for vm in (a, c):
        e = refused(board, P.Command.VM_MAP, vm.id, 0, 0x72000000, share.pa, SHARE_SIZE)
        assert e.status == P.Status.REFUSED_RANGE and "another VM's memory" in e.reason, e.reason
    doing("a third party, another PA, another size, another name over the same pages")
    e = refused(board, P.Command.VM_SHARE, c.id, 0, 0x72000000, share.pa, SHARE_SIZE, data=b"chan")
    assert e.status == P.Status.TOO_LARGE and "two VMs" in e.reason
    e = refused(board, P.Command.VM_SHARE, c.id, 0, 0x72000000, share.pa + 0x1000, SHARE_SIZE,
                data=b"chan")
    assert e.status == P.Status.REFUSED_RANGE and "share chan is pa" in e.reason
    e = refused(board, P.Command.VM_SHARE, c.id, 0, 0x72000000, share.pa, SHARE_SIZE, data=b"other")
    assert e.status == P.Status.REFUSED_RANGE and "another share" in e.reason
    e = refused(board, P.Command.VM_SHARE, c.id, 0, 0x72000000, THIRD_PA, SHARE_SIZE, data=b"own")
    assert e.status == P.Status.REFUSED_RANGE, "a share over the VM's own RAM"
    doing("doorbells the stub must refuse")
    e = refused(board, P.Command.VM_SHARE, c.id, 33, 0x72000000, 0x62000000, SHARE_SIZE, data=b"x")
    assert "console" in e.reason
    e = refused(board, P.Command.VM_SHARE, c.id, 300, 0x72000000, 0x62000000, SHARE_SIZE, data=b"x")   # QEMU virt: SPIs 32..255
    assert e.status == P.Status.BAD_REQUEST
    e = refused(board, P.Command.VM_IRQ, a.id, PING_IRQ)
    assert "doorbell" in e.reason
