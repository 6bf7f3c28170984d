"""The 16550's receive interrupt on qemu-virt-16550 reaches the boot core: PCI INTA of
slot 1, through the host bridge's interrupt-map, is GIC INTID 36 (boards/qemu-virt-16550/
README.md), and the GIC presents it to core 0's CPU interface while the stub waits in WFI.

Answers alone prove nothing here: without the interrupt the stub would still answer,
woken by its 5 ms timer tick (INTID 26). QEMU's own traces do: `gicv3_dist_set_irq` logs
the UART's line at the distributor, `gicv3_cpuif_update` the highest-priority pending
interrupt each CPU interface offers. (ICC_IAR1 would not show it: idle_wait turns the
UART's interrupt enable off as soon as WFI returns, which drops the level-sensitive line
before the acknowledge; the pending interrupt has done its job by waking the core.)"""

from __future__ import annotations

import re
import time

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.hil.target import BoardTarget
from tests.budget import doing
from tests.conftest import qemu_lifetime, results_dir

pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "starts qemu-virt-16550 itself: make test runs it, on this same board"))

UART_INTID = 0x24


def test_a_request_raises_the_16550_interrupt_at_the_boot_core(request):
    profile = load_profile("qemu-virt-16550")
    assert profile.firmware["uart_irq"] == UART_INTID
    folder = results_dir(request)
    target = BoardTarget(profile, folder, qemu_options={
        "lifetime": qemu_lifetime(request),
        "extra_args": ["-trace", "gicv3_dist_set_irq", "-trace", "gicv3_cpuif_update"]})
    request.addfinalizer(target.stop)
    doing("bringing up qemu-virt-16550 with QEMU tracing the GIC")
    target.start()
    doing("sending requests to a stub that sleeps between them")
    for i in range(20):
        assert target.board.hvc("echo", i, 2, 3).results["a"] == i
        time.sleep(0.02)             # idle: the boot core goes back to WFI between requests
    target.stop()                    # QEMU's log is complete once it has exited
    log = (folder / "qemu-1.log").read_text(errors="replace")
    raised = len(re.findall(rf"distributor interrupt {UART_INTID} level changed to 1", log))
    offered = len(re.findall(rf"CPU i/f 0x0 HPPI update: irq {UART_INTID} group \d+ prio 0\b", log))
    assert raised >= 1, "the 16550's INTx never reached the distributor as INTID 36"
    assert offered >= 1, "INTID 36 was raised but never offered to core 0's CPU interface"
    print(f"INTID {UART_INTID}: raised {raised} times, offered to core 0 {offered} times")
