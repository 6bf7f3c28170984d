"""The REPL as a person uses it, in a real terminal (tmux) against the real stub in QEMU:
Tab completion, history across sessions, hypercalls by name, Ctrl-C during a transfer,
guest output above the prompt, console attach/detach, symbolised faults, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvmon import protocol as P
from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import remaining
from tests.conftest import qemu_lifetime, run_profile
from tests.terminal import Terminal

# The module's board (a bring-up by a CLI process) and a REPL process per test.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, processes=2)]

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "boards" / "qemu-virt" / "linux.toml"
HVMON = [sys.executable, "-m", "hvmon.ui.cli"]


def results(name: str) -> Path:
    path = REPO / "results" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def brought_up_board(request, name: str, smp: int) -> str:
    """One QEMU board of the run's profile for a module, the stub brought up through
    U-Boot by `hvmon bringup` (which then lets go of the line); the guest's images are
    preloaded. Returns the stub's line: U-Boot's, unless the profile gives the stub a
    line of its own (qemu-virt-16550), which bringup then awaits the banner on."""
    profile = run_profile(request)
    qemu = QemuBoard(profile, smp=smp, log_path=results(name) / "qemu.log",
                     lifetime=qemu_lifetime(request), extra_args=preload_args(LINUX))
    qemu.start()
    request.addfinalizer(qemu.stop)
    stub_line = ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []
    up = subprocess.run([*HVMON, "-b", profile.name, "-p", qemu.url, "bringup", *stub_line],
                        capture_output=True, text=True, timeout=remaining())
    assert up.returncode == 0, up.stderr
    return qemu.stub_url


def board_env(request) -> dict[str, str]:
    """The CLI's board for the processes a test starts: the run's profile, whose stub ELF
    names the stub's own symbols."""
    return {"HVMON_BOARD": run_profile(request).name}


@pytest.fixture(scope="module")
def url(request) -> str:
    return brought_up_board(request, "test_repl", smp=3)


@pytest.fixture
def env(request, tmp_path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **board_env(request)}


@pytest.fixture
def repl(request, url, env):
    """Start `hvmon -p URL` (the REPL) in a terminal; leave it with Ctrl-D at the end."""
    terminals = []

    def start() -> Terminal:
        term = Terminal("hvmon-repl", [*HVMON, "-p", url], env,
                        results("test_repl") / f"{request.node.name}-{len(terminals)}.screen")
        terminals.append(term)
        term.wait(r"^hvmon>$")
        return term

    yield start
    for term in terminals:
        try:
            term.leave()
        finally:
            term.close()


def test_completion_history_and_a_hypercall_by_name(repl, env):
    term = repl()
    term.type("hv")
    term.keys("Tab")
    term.wait(r"^hvmon> hvc$")
    term.type("ech")
    term.keys("Tab")
    term.wait(r"^hvmon> hvc echo$")
    term.type("1 0x22 3")
    term.keys("Enter")
    screen = term.wait(r"c = 0x3 \(3\)\n\s*hvmon>$")
    assert "echo: x0 = 0 (OK)\n  a = 0x1 (1)\n  b = 0x22 (34)\n  c = 0x3 (3)" in screen
    term.type("hvc time")
    term.keys("Enter")
    term.wait(r"time: x0 = 0 \(OK\)\n  counter = 0x[0-9a-f]+ \(\d+\)\n  frequency = 0x[0-9a-f]+")
    term.type("hvc vm_state 7")            # no VM 7: the status is decoded by name
    term.keys("Enter")
    term.wait(r"vm_state: x0 = -\d+ \([A-Z_]+.*\)\n\(exit code 5\)\nhvmon>$")
    term.keys("C-d")
    term.wait(r"terminal-exited-0")
    history = Path(env["XDG_CONFIG_HOME"]) / "hvmon" / "history"
    assert "+hvc echo 1 0x22 3" in history.read_text()

    again = repl()                         # a new session: Up brings the last lines back
    again.keys("Up")
    again.wait(r"^hvmon> hvc vm_state 7$")
    again.keys("Up")
    again.wait(r"^hvmon> hvc time$")
    again.keys("Up")
    again.wait(r"^hvmon> hvc echo 1 0x22 3$")
    again.keys("Enter")
    again.wait(r"c = 0x3 \(3\)\n\s*hvmon>$")


def test_bad_input_is_one_line_and_the_repl_carries_on(repl):
    term = repl()
    term.type("frobnicate 1 2")
    term.keys("Enter")
    screen = term.wait(r"error: unknown command 'frobnicate'.*\n\s*hvmon>$")
    assert screen.count("error:") == 1
    term.type("md 0x4800zz")
    term.keys("Enter")
    term.wait(r"^error: bad number '0x4800zz' for ADDR\nhvmon>$")
    term.type("md 0x1000 16")              # outside RAM: refused on the host, nothing sent
    term.keys("Enter")
    term.wait(r"^error: 0x1000\+0x10 is not inside RAM .*\nhvmon>$")
    term.type("hvc echo 'unclosed")
    term.keys("Enter")
    term.wait(r"^error: cannot split the line: No closing quotation\nhvmon>$")
    term.type("help hvc")
    term.keys("Enter")
    term.wait(r"usage: hvc \[-h\] name \[args \.\.\.\]")
    term.type("md 0x40200038 8")           # and real work still goes through
    term.keys("Enter")
    term.wait(r"^0000000040200038  41 52 4d 64 .*\|ARMd")


@pytest.mark.budget(line_bytes=300_000, seconds=10)
def test_ctrl_c_cancels_a_transfer_and_the_board_stays_usable(repl, tmp_path):
    payload = tmp_path / "random.bin"
    payload.write_bytes(os.urandom(3 << 20))        # incompressible: minutes on this line
    term = repl()
    term.type(f"load {payload} 0x48000000")
    term.keys("Enter")
    term.wait(r"random\.bin -> 0x48000000 .*\d+/3145728")
    time.sleep(1.5)
    term.keys("C-c")
    term.wait(r"^cancelled\nhvmon>$")
    term.type("hvc echo 5 6 7")
    term.keys("Enter")
    term.wait(r"c = 0x7 \(7\)\n\s*hvmon>$")
    term.type("crc 0x40200000 0x40")
    term.keys("Enter")
    term.wait(r"crc32 0x40200000\+0x40 = 0x[0-9a-f]{8}\nhvmon>$")


def build_crasher(folder: Path) -> Path:
    """A bare-metal guest that loads from an IPA outside its memory: a stage-2 fault."""
    source = folder / "crash.S"
    source.write_text("""
        .global _start
        .type _start, %function
        _start:
            mov x1, #0x1000
            ldr x0, [x1]
            b .
        .size _start, . - _start
    """)
    subprocess.run(["aarch64-linux-gnu-as", str(source), "-o", str(folder / "crash.o")], check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start",
                    str(folder / "crash.o"), "-o", str(folder / "crash.elf")], check=True)
    config = folder / "crasher.toml"
    config.write_text('name = "crasher"\nmemory = [{ ipa = 0x40000000, size = 0x800000 }]\n'
                      'kernel = "crash.elf"\n')
    return config


@pytest.mark.budget(processes=1)
def test_a_guest_fault_prints_a_symbolised_pc(repl, url, env, tmp_path):
    config = build_crasher(tmp_path)
    term = repl()
    term.type(f"vm create {config} --start")
    term.keys("Enter")
    screen = term.wait(r"hvmon: VM \d+ \(crasher\) stopped: fault ESR 0x\w+ ELR 0x40000004 "
                       r"\(_start\+0x4\) FAR 0x1000 IPA 0x1000")
    assert "started crasher" in screen
    term.type("vm destroy crasher")
    term.keys("Enter")
    term.wait(r"destroy: crasher done\nhvmon>$")
    term.keys("C-d")
    term.wait(r"terminal-exited-0")

    # A VM created by another run (the CLI): the REPL finds its ELF from what `vm create`
    # remembered, and still names the faulting function.
    created = subprocess.run([*HVMON, "-p", url, "vm", "create", str(config)], capture_output=True,
                             text=True, timeout=60, env={**os.environ, **env})
    assert created.returncode == 0, created.stderr
    again = repl()
    again.type("vm start crasher")
    again.keys("Enter")
    again.wait(r"hvmon: VM \d+ \(crasher\) stopped: fault .* ELR 0x40000004 \(_start\+0x4\)")
    again.type("vm destroy crasher")
    again.keys("Enter")
    again.wait(r"destroy: crasher done\nhvmon>$")


@pytest.mark.budget(boots=1)
def test_guest_output_above_the_prompt_and_console_attach_detach(repl):
    term = repl()
    term.type(f"vm create {LINUX} --start")
    term.keys("Enter")
    term.wait(r"started linux")
    term.type("hvc ver")                   # typed while the guest boots, not sent
    term.wait(r"^\[linux\] .*Run /init as init process")
    term.wait(r"^\[linux\] hvmon-guest: .* up")
    screen = term.wait(r"^\[linux\] / #$")     # the shell's prompt, though no newline follows
    assert term.last_line() == "hvmon> hvc ver", screen[-1500:]
    assert not any(line.startswith("hvmon> hvc ver") for line in screen.splitlines()[:-1])
    term.keys("Tab")
    term.wait(r"^hvmon> hvc version$")
    term.keys("Enter")
    term.wait(rf"protocol_version = {P.VERSION:#x} \({P.VERSION}\)")

    term.type("console linux")
    term.keys("Enter")
    term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---")
    term.keys("Enter")
    term.wait(r"^/ #$")
    term.type("echo guest-$((40+2)); uname -m")
    term.keys("Enter")
    term.wait(r"^guest-42\naarch64")
    term.keys("C-]")
    term.wait(r"--- detached ---\nhvmon>$")
    term.type("vm list")
    term.keys("Enter")
    term.wait(r"^\d+  linux +running +1 vCPU\nhvmon>$")
    term.type("vm destroy linux")
    term.keys("Enter")
    # The stop event is shown by the session's callback thread: before or after the answer.
    term.wait(r"destroy: linux done\n(?:hvmon: VM \d+ \(linux\) stopped: stopped\n)?hvmon>$")
