"""[[shared]] in VM configs (IVC, issue 13): checked on the host before anything is
sent, and the PA the host picks for a share (vms.share_pas)."""

from __future__ import annotations

import pytest

from hvmon.errors import ConfigError
from hvmon.target.vmconfig import load_vm_config
from hvmon.target.vms import VmRegion, share_pas
from tests.unit.test_vmconfig import GOOD, PROTECTED, RAM, config, files  # noqa: F401 (fixture)

CHAN = '[[shared]]\nname = "chan"\nsize = 0x1000\nipa = 0x80000000\ndoorbell_irq = 40\n'


def test_a_share_is_parsed_and_kept_out_of_the_guests_memory(files):
    vm = load_vm_config(config(files, GOOD + CHAN), RAM, PROTECTED)
    (sh,) = vm.shared
    assert (sh.name, sh.size, sh.ipa, sh.doorbell_irq) == ("chan", 0x1000, 0x80000000, 40)


@pytest.mark.parametrize("text, message", [
    (CHAN.replace('"chan"', '"Chan!"'), r"shared\[0\].name: 1-15 characters"),
    (CHAN + CHAN, r"shared\[1\].name: share 'chan' is named twice"),
    (CHAN.replace("0x1000", "0x1800"), r"shared\[0\]: size and ipa must be 4 KiB aligned"),
    (CHAN.replace("0x80000000", "0x40000000"), r"shared\[0\]: IPA range overlaps memory\[0\]"),
    (CHAN.replace("= 40", "= 33"), r"doorbell_irq: 33 is the console's interrupt"),
    (CHAN.replace("= 40", "= 16"), r"doorbell_irq: must be an integer >= 32"),
    (CHAN.replace("= 40", "= 1020"), r"doorbell_irq: must be an SPI INTID below 1020"),
    (CHAN + CHAN.replace('"chan"', '"b"').replace("0x80000000", "0x80001000"),
     r"shared\[1\].doorbell_irq: 40 rings for another share already"),
    (CHAN.replace("doorbell_irq", "bell"), r"shared\[0\].bell: unknown key"),
])
def test_a_bad_share_is_refused_naming_its_key(files, text, message):
    with pytest.raises(ConfigError, match=message):
        load_vm_config(config(files, GOOD + text), RAM, PROTECTED)


def test_the_first_vm_gets_free_ram_and_the_second_reuses_it(files):
    first = load_vm_config(config(files, GOOD + CHAN), RAM, PROTECTED)
    (pa,) = share_pas(first, [], RAM, PROTECTED)
    assert RAM[0].base <= pa and pa + 0x1000 <= RAM[0].end
    for r in PROTECTED:
        assert pa + 0x1000 <= r.base or r.end <= pa
    m = first.memory[0]
    assert pa + 0x1000 <= m.pa or m.pa + m.size <= pa
    regions = [VmRegion(0, "ram", m.ipa, m.pa, m.size),
               VmRegion(0, "shared", 0x80000000, pa, 0x1000, 40, "chan")]
    second = load_vm_config(config(files, GOOD.replace('"a"', '"b"') + CHAN), RAM, PROTECTED)
    assert share_pas(second, regions, RAM, PROTECTED) == [pa]


def test_a_share_in_use_by_two_or_of_another_size_is_refused(files):
    vm = load_vm_config(config(files, GOOD + CHAN), RAM, PROTECTED)
    other_size = [VmRegion(0, "shared", 0x80000000, 0x70000000, 0x2000, 40, "chan")]
    with pytest.raises(ConfigError, match=r"shared\[0\].size: share 'chan' is 0x2000 bytes in VM 0"):
        share_pas(vm, other_size, RAM, PROTECTED)
    full = [VmRegion(v, "shared", 0x80000000, 0x70000000, 0x1000, 40, "chan") for v in (0, 1)]
    with pytest.raises(ConfigError, match=r"joins two VMs already"):
        share_pas(vm, full, RAM, PROTECTED)


def test_a_new_share_avoids_every_vms_memory(files):
    vm = load_vm_config(config(files, GOOD + CHAN), RAM, PROTECTED)
    (top,) = share_pas(vm, [], RAM, PROTECTED)
    taken = [VmRegion(3, "ram", 0, top & ~0x1FFFFF, 0x200000)]
    (pa,) = share_pas(vm, taken, RAM, PROTECTED)
    assert pa + 0x1000 <= taken[0].pa or taken[0].end <= pa
