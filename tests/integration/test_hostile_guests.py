"""The project's own hostile guest (tests/guests/hostile) attacks the stub, one fresh
bare-metal VM per attack on core 2, while Debian Linux runs beside it on core 1 (booted
once for the module). After every attack: the stub answers, its code is the image it was
given, Linux still answers on its console, and the attacker got no data."""

from __future__ import annotations

import re
import time
import zlib

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.hil.guests import VmFactory
from hvmon.target.board import StubError
from hvmon.target.vms import vm_list, vm_regions
from tests.budget import BOOT_S, doing
from tests.integration.hostile import (HOSTILE_CORE, HOSTILE_IPA, HOSTILE_PA, HOSTILE_SIZE,
                                       MARKER, PSCI_ALREADY_ON, PSCI_INVALID_PARAMETERS,
                                       SMCCC_UNKNOWN, build, calls, hostile_config, linux_config,
                                       status, stub_text)

# A VM per attack: a 13 KB image and a guest DTB through the line, both ways counted.
VM_BYTES = 150_000
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=3),
              pytest.mark.budget(bringups=1, boots=1, line_bytes=VM_BYTES)]

LINUX_PA = 0x50000000           # boards/qemu-virt/linux.toml
GICD = 0x08000000               # boards/qemu-virt/board.toml (QEMU hw/arm/virt.c)
GICR = 0x080A0000               # one 128 KiB frame pair per core (GICv3 spec 12.10)
GITS = 0x08080000               # QEMU virt's ITS (hw/arm/virt.c base_memmap)
CONSOLE = 0x09000000            # the attacker's emulated PL011 (at the stub UART's PA)


class LinuxBeside:
    """Debian Linux on core 1, booted once per module; booted again only when an earlier
    test's failure had the plugin reset the board."""

    def __init__(self, target):
        self.target = target
        self.factory = VmFactory(target)
        self.handle = None
        self.checks = 0

    def ensure(self):
        if self.handle is None or self.handle.board is not self.target.board:
            doing("booting Linux beside the attacks")
            self.handle = self.factory(linux_config())
            self.handle.console.expect(rb"/ # ", BOOT_S)
        return self.handle

    def answers(self, command: str = "") -> None:
        """Linux's shell runs a command and its timer still ticks (sleep)."""
        self.checks += 1
        n = self.checks
        self.handle.console.send(f"{command}sleep 0.1; echo alive-$(({n} * 7))")
        self.handle.console.expect(rf"alive-{n * 7}\r?\n".encode(), 60)


@pytest.fixture(scope="module")
def linux_beside(hvmon_target):
    beside = LinuxBeside(hvmon_target)
    yield beside
    beside.factory.cleanup()


@pytest.fixture(scope="module")
def text(hvmon_target):
    return stub_text(hvmon_target.board, hvmon_target.profile)


@pytest.fixture
def linux(board, linux_beside):
    return linux_beside.ensure()


@pytest.fixture
def attack(request, board, hvmon_target, hvmon_capture, linux_beside, text):
    """attack(steps, privileged=False) -> the attacker's VmHandle, started; after the
    test, the attacker is destroyed and the isolation checks run."""
    linux_beside.ensure()
    build()
    factory = VmFactory(hvmon_target, hvmon_capture, base=request.config.rootpath)

    def run(steps: str, privileged: bool = False, name: str = "hostile", start: bool = True,
            **extra):
        """extra: more keys of the VM config; start=False leaves the VM created, not run."""
        doing(f"attack {steps!r}")
        return factory(hostile_config(steps, name=name, privileged=privileged) | extra, start)

    yield run
    problems = factory.cleanup()
    assert not problems, problems
    doing("checking the stub and Linux after the attack")
    assert_isolated(board, linux_beside, text)


def assert_isolated(board, linux_beside, text) -> None:
    assert board.hvc("echo", 1, 2, 3).results == {"a": 1, "b": 2, "c": 3}
    assert board.crc(text.base, text.size) == text.crc, "the stub's code changed"
    assert [(e.name, e.state) for e in vm_list(board)] == [("linux", "running")]
    linux_beside.answers()


def finished(guest, timeout: float = 30) -> str:
    guest.console.expect(rb"hostile: done", timeout)
    return guest.console.text


def no_data(text: str) -> None:
    assert "= 0x" not in text and "stored" not in text, text


def test_the_hostile_guest_reads_its_bootargs_and_reports(attack, linux):
    guest = attack("hvc:0xC6000001:1:2:3 hvc:0xC6000006")
    out = finished(guest)
    assert "hostile: bootargs 'hvc:0xC6000001:1:2:3 hvc:0xC6000006'" in out
    assert calls(out) == [("hvc", 0xC6000001, (0, 1, 2, 3)), ("hvc", 0xC6000006, (0, guest.id, 1, 0))]


# Addresses outside the attacker's RAM. Its IPA space holds only its RAM (IPA 0x70000000),
# its console and its GIC model, so every one of these must end it with a stage-2 fault.
OUTSIDE = {
    "stub image": 0x40200000,                 # boards/qemu-virt/board.toml load_address
    "stub tables": 0x40210000,
    "linux RAM": LINUX_PA + 0x1000,
    "its own PA": HOSTILE_PA,
    "linux core's redistributor": GICR + 1 * 0x20000 + 0x10180,   # GICR_ICENABLER0 of core 1
    "stub core's redistributor": GICR + 0x10100,                 # GICR_ISENABLER0 of core 0
    "GIC ITS": GITS,
    "past the distributor model": GICD + 0x10000,
    "past the console page": CONSOLE + 0x1000,
    "IPA 0": 0,
    "top of the 40-bit IPA space": (1 << 40) - 8,
    # Beyond the guest's own physical address size its stage 1 (off) faults first, at
    # EL1: the exception goes to its VBAR_EL1 (0, not mapped), and that fetch ends it.
    "beyond the IPA space": 1 << 40,
}
FAULTS_AT = {"beyond the IPA space": 0x200}


@pytest.mark.parametrize("kind", ["read", "write"])
@pytest.mark.parametrize("where", list(OUTSIDE))
def test_access_outside_its_ram_stops_the_attacker(attack, linux, kind, where):
    addr = OUTSIDE[where]
    step = f"read:{addr:#x}" if kind == "read" else f"write:{addr:#x}:0xffffffffffffffff"
    guest = attack(step)
    stopped = guest.wait_stopped(30)
    assert stopped.reason == "fault"
    assert stopped.far == FAULTS_AT.get(where, addr)
    no_data(guest.console.text)


# A passthrough alias above the PA range (issue 13, hole 1): the stub's image plus bit 40.
# Cut to the 40 bits a stage-2 descriptor holds it would be the stub itself; placed at an
# IPA where the attacker has nothing else.
STUB = 0x40200000
ALIAS_PA = (1 << 40) + STUB
ALIAS_IPA = 0x10000000


@pytest.mark.parametrize("kind", ["read", "write"])
def test_a_passthrough_alias_above_the_pa_range_is_refused_and_faults(attack, linux, board,
                                                                       kind):
    alias = {"passthrough": [{"pa": ALIAS_PA, "size": 0x1000, "ipa": ALIAS_IPA}]}
    with pytest.raises(ConfigError, match=r"passthrough\[0\]\.pa: 0x10040200000\+0x1000 is "
                                          r"beyond the board's 40-bit"):
        attack("read:0", **alias)                   # the host's own check, before any request
    step = f"read:{ALIAS_IPA:#x}" if kind == "read" else f"write:{ALIAS_IPA:#x}:0xffffffffffffffff"
    guest = attack(step, start=False)
    regions = [r for r in vm_regions(board) if r.vm == guest.id]
    doing("VM_MAP of the alias straight through the protocol, past the host's checks")
    with pytest.raises(StubError) as refused:
        board.call(P.Command.VM_MAP, guest.id, 1, ALIAS_IPA, ALIAS_PA, 0x1000)
    assert refused.value.status == P.Status.REFUSED_RANGE
    assert (f"pa {ALIAS_PA:#x}+0x1000 is beyond the board's 40-bit physical address range"
            in refused.value.reason)
    assert [r for r in vm_regions(board) if r.vm == guest.id] == regions    # nothing half-made
    guest.start()
    stopped = guest.wait_stopped(30)
    print(f"alias above the PA range ({kind}): VM_MAP refused: {refused.value.reason}; "
          f"the guest's {kind} of IPA {ALIAS_IPA:#x}: {stopped.reason}, FAR {stopped.far:#x}")
    assert (stopped.reason, stopped.far, stopped.ipa) == ("fault", ALIAS_IPA, ALIAS_IPA)
    no_data(guest.console.text)


def test_its_console_registers_are_a_model_not_the_stub_uart(attack, linux):
    """The attacker's console sits at the stub UART's PA (boards/qemu-virt/board.toml):
    it reaches only the model. Disabling it, reprogramming its baud rate and masking its
    interrupts leave the stub's UART serving the host (the isolation checks)."""
    guest = attack(f"read32:{CONSOLE:#x} read32:{CONSOLE + 0x18:#x} "
                   f"write32:{CONSOLE + 0x24:#x}:1 write32:{CONSOLE + 0x38:#x}:0 "
                   f"write32:{CONSOLE + 0x30:#x}:0 read:{CONSOLE + 0x1000:#x}")
    stopped = guest.wait_stopped(30)
    assert (stopped.reason, stopped.far) == ("fault", CONSOLE + 0x1000)


def test_gicd_ctlr_cleared_by_a_guest_disables_only_its_own_model(attack, linux):
    guest = attack(f"write32:{GICD:#x}:0 read32:{GICD:#x}")
    out = finished(guest)
    ctlr = re.search(r"step read32 0x0*8000000\r?\n= (0x[0-9a-f]+)", out)
    assert ctlr and int(ctlr.group(1), 16) & 3 == 0, out      # EnableGrp0/1 cleared


@pytest.mark.parametrize("function, reason", [(0x84000008, "SYSTEM_OFF"), (0x84000009, "SYSTEM_RESET")])
def test_psci_system_off_and_reset_by_smc_stop_only_the_attacker(attack, linux, function, reason):
    guest = attack(f"smc:{function:#x} read:0")
    stopped = guest.wait_stopped(30)
    assert stopped.reason == reason


def test_unknown_smcs_and_hvcs_are_refused(attack, linux):
    unknown = [0x0, 0x82000000, 0xC2000001, 0xC3000000, 0xBF000000, 0xC600FFFF, 0x8400001F]
    guest = attack(" ".join(f"smc:{f:#x}" for f in unknown) + " "
                   + " ".join(f"hvc:{f:#x}" for f in unknown))
    out = finished(guest)
    got = calls(out)
    assert len(got) == 2 * len(unknown)
    assert all(x[0] == SMCCC_UNKNOWN for _, _, x in got), got


def test_privileged_hypercalls_are_refused_to_an_unprivileged_guest(attack, linux):
    args = {"mem_crc": (0x40200000, 0x1000), "print": (0x40200000, 64), "vm_stop": (linux.id,),
            "vm_state": (linux.id,), "core_stats": (1,)}
    privileged = [h for h in P.HYPERCALLS if h.privileged]
    steps = []
    for h in privileged:
        a = (args.get(h.name, ()) + (0, 0, 0))[:3]
        steps.append(f"hvc:{h.id:#x}:{a[0]:#x}:{a[1]:#x}:{a[2]:#x}")
    out = finished(attack(" ".join(steps)))
    got = calls(out)
    assert [fn for _, fn, _ in got] == [h.id for h in privileged]
    for (_, fn, x), h in zip(got, privileged):
        a = (args.get(h.name, ()) + (0, 0, 0))[:3]
        assert x == (status("NO_PRIVILEGE"), *a), (h.name, x)     # nothing came back


def test_a_privileged_guests_pointers_reach_only_its_own_ram(attack, linux, board, text):
    """Issue 13, hole 3: mem_crc and print take IPAs of the caller's own RAM."""
    image = build().read_bytes()
    refused = [(text.base, 0x100), (LINUX_PA, 0x1000), (HOSTILE_PA, 64),
               (HOSTILE_IPA + HOSTILE_SIZE - 8, 16), (HOSTILE_IPA + HOSTILE_SIZE, 8),
               (0xFFFFFFFFFFFFF000, 0x2000), (HOSTILE_IPA, 2**64 - 1), (CONSOLE, 4),
               (GICD, 4), (HOSTILE_IPA, 0)]
    steps = [f"hvc:0xC6000004:{HOSTILE_IPA:#x}:64"]
    steps += [f"hvc:0xC6000004:{a:#x}:{n:#x}" for a, n in refused]
    steps += [f"hvc:0xC6000005:{a:#x}:{n:#x}" for a, n in refused]
    steps += ["print:hello-from-the-guest"]
    guest = attack(" ".join(steps), privileged=True)
    out = finished(guest)
    got = calls(out)
    assert got[0][2][:2] == (0, zlib.crc32(image[:64]))                  # its own image
    for (_, fn, x), (a, n) in zip(got[1:], refused + refused):
        assert x[:3] == (status("REFUSED_RANGE"), a, n), (hex(fn), hex(a), hex(n), x)
    # The text goes into its own console, in order: between "step print" and the result.
    printed = re.search(r"step print(\S*) -> (0x[0-9a-f]+) (0x[0-9a-f]+)", out)
    assert printed, out
    assert printed.group(1) == "hello-from-the-guest"
    assert (int(printed.group(2), 16), int(printed.group(3), 16)) == (0, 20)


@pytest.mark.parametrize("verb", ["hvc", "smc"])
def test_psci_cpu_on_for_cores_it_does_not_own_is_refused(attack, linux, verb):
    targets = [1, 2, 3, 7, 0x100, 0x80000001, 0xFFFFFFFF]
    steps = [f"{verb}:0xC4000003:{t:#x}:{HOSTILE_IPA:#x}:0" for t in targets]
    steps += [f"{verb}:0xC4000003:0:{HOSTILE_IPA:#x}:0", f"{verb}:0xC4000004:1:0:0"]
    got = calls(finished(attack(" ".join(steps))))
    assert [x[0] for _, _, x in got] == [PSCI_INVALID_PARAMETERS] * len(targets) + \
        [PSCI_ALREADY_ON, PSCI_INVALID_PARAMETERS]


@pytest.mark.budget(seconds=120)
def test_a_hypercall_storm_leaves_the_host_link_responsive(attack, linux, board):
    guest = attack("storm:100000")
    rtts = []
    started = time.monotonic()
    doing("echo round trips while the guest storms")
    while b"storm done" not in guest.console.output[guest.console.start:]:
        t = time.monotonic()
        assert board.hvc("echo", 4, 5, 6).results == {"a": 4, "b": 5, "c": 6}
        rtts.append(time.monotonic() - t)
    out = finished(guest, 60)
    assert "storm done: 100000 calls, 0 wrong" in out
    storm_s = time.monotonic() - started
    print(f"storm: 100000 hypercalls in {storm_s:.2f} s; {len(rtts)} host echo round trips "
          f"during it, median {sorted(rtts)[len(rtts) // 2] * 1e3:.1f} ms, "
          f"max {max(rtts) * 1e3:.1f} ms" if rtts else "storm: no round trip completed")
    assert rtts, "no echo round trip was answered while the storm ran"
    stats = board.hvc("core_stats", HOSTILE_CORE).results
    assert stats["exits"] >= 100000


def test_a_guest_faulting_in_a_loop_is_stopped_by_the_host(attack, linux, board, linux_beside):
    guest = attack("faults:1000 faults:0")
    guest.console.expect(rb"faults caught: 1000\r?\nstep faults", 30)
    doing("the stub and Linux while the attacker faults at EL1 without end")
    assert board.hvc("echo", 7, 8, 9).results["c"] == 9
    linux_beside.answers()
    guest.stop()
    assert guest.wait_stopped(30).reason == "stopped"


# The attacker's own vCPU 0 redistributor model (gicr_ipa 0: the board's GICR base), its
# SGI_base frame's GICR_ISENABLER0 (IHI 0069, 12.11.7); PPI 27 is the virtual timer's.
OWN_ISENABLER0 = GICR + 0x10000 + 0x100
VTIMER_ENABLE = f"write32:{OWN_ISENABLER0:#x}:{1 << 27:#x}"


@pytest.mark.budget(line_bytes=2 * VM_BYTES)
def test_a_guest_that_leaves_its_timer_interrupt_active_does_not_keep_the_next_guests(attack, linux):
    """The first guest's timer fires and is injected (HW-linked: the physical PPI stays
    active until the guest deactivates it), the guest never takes it and is destroyed. The
    next guest on that core must still get its timer's interrupt."""
    first = attack(f"{VTIMER_ENABLE} vtimer", name="timer-left")
    out = finished(first)
    assert "vtimer: pending" in out, out
    first.destroy()
    second = attack(f"{VTIMER_ENABLE} vtimer", name="timer-next")
    out = finished(second)
    assert "vtimer: pending" in out, out


@pytest.mark.budget(line_bytes=VM_BYTES)
def test_the_next_guest_on_a_core_sees_nothing_of_the_last(attack, linux):
    """Issue 13, hole 6: FP/SIMD, TPIDR*, timers, PMU, debug, the virtual CPU interface
    and RAM, marked by one guest, read by the next on the same core and the same RAM."""
    first = attack("mark", name="marker")
    out = finished(first)
    assert "marked" in out, out
    first.destroy()
    second = attack("probe", name="probe")
    out = finished(second)
    seen = {k: int(v, 16) for k, v in re.findall(r"probe (\w+)=(0x[0-9a-f]+)", out)}
    assert len(seen) == 33, out
    leaked = {k: hex(v) for k, v in seen.items() if v & 0xFFFFFFFFFF000000 == MARKER}
    assert not leaked, f"the previous guest's markers: {leaked}"
    zero = ["tpidr_el0", "tpidrro_el0", "tpidr_el1", "cntv_ctl_el0", "cntp_ctl_el0",
            "cntkctl_el1", "pmcntenset_el0", "pmintenset_el1", "pmuserenr_el0",
            "pmccfiltr_el0", "mdscr_el1", "dbgbcr0_el1", "contextidr_el1", "icc_pmr_el1",
            "icc_igrpen1_el1", "simd_or", "fpcr", "fpsr", "ram"]
    assert {k: hex(seen[k]) for k in zero if seen[k]} == {}
    assert seen["pmcr_el0"] & 0x41 == 0              # PMCR_EL0.E and .LC cleared
    assert seen["icc_bpr1_el1"] != 4                 # the marker (ICH_VMCR_EL2.VBPR1)
