"""`vm snapshot`, `restore`, `save`, `load` and `migrate` as their users type them, on two
QEMU boards: a person at the REPL on board A boots Linux, gives its shell a variable,
snapshots it in board RAM, changes the variable, restores it (the variable as it was),
gives it a counter and saves it to a file; `hvmon migrate` on the command line moves the
running guest to board B, where the variable reads back and the counter goes on; a file
made for another board is refused in one line; and at the REPL on A the file comes back
as a second guest that remembers the variable. (test_snapshots, test_vm_file_two_boards
and test_migrate drive the same through `Board`.)"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import time

import pytest

from tests.budget import doing, remaining
from tests.integration.test_repl import HVMON, board_env, brought_up_board, results
from tests.terminal import Terminal
from tests.integration.test_guests import guest_config
from tests.integration.test_vm_file_two_boards import SMALL_RAM

# Two boards, one Linux boot; the guest's RAM crosses the lines three times (save, move,
# load): on the PL011 board of `make test` that is many minutes, so the run on
# qemu-virt-16550 (`make test-16550`) has it.
pytestmark = [pytest.mark.qemu,
              pytest.mark.runs_on_board("qemu-virt-16550", "a guest's RAM across two boards' "
                                        "stub lines, three times: minutes on the PL011 board"),
              pytest.mark.budget(bringups=2, boots=1, processes=6, line_bytes=150_000_000)]

# A REPL step that moves no guest RAM, on a loaded 2-core machine (they take under 2 s idle).
STEP_S = 120

# What the guest's shell prints for ask(): its variable, the counter's last value and its
# uptime (which says whether the counter stood still or the guest's time did).
CHECK = "echo at-{0}-$KEPT-$(cat /tmp/n)-$(cut -d' ' -f1 /proc/uptime)-end"
ANSWER = r"at-{0}-(\S+)-(\d+)-([\d.]+)-end"

# The `run` script that asks a VM's shell on a board the same, through the console API.
ASK = '''
import sys
from hvmon.hil.console import Console
from hvmon.target.vms import vm_list
name, marker, wait = sys.argv[1], sys.argv[2], int(sys.argv[3])
vm = next(entry for entry in vm_list(board) if entry.name == name)
console = Console(board, vm.id, name)
console.send((f"sleep {{wait}}; " if wait else "") + {check!r}.format(marker))
match = console.expect({answer!r}.format(marker).encode(), 30 + wait)
print(vm.state, *(group.decode() for group in match.groups()))
'''.format(check=CHECK, answer=ANSWER)


@pytest.fixture
def env(request, tmp_path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **board_env(request)}


def hvmon(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=remaining(),
                          env={**os.environ, **env})


def attach(term: Terminal, name: str, marker: str) -> None:
    """The REPL's console of VM `name`, with keys reaching its shell: the console replays
    the end of the guest's output first; `echo MARKER` is typed again if its answer has
    not shown within 3 s."""
    term.enter(f"console {name}", rf"--- console of {name} \(VM \d+\) --- Ctrl-\] detaches ---",
               STEP_S)
    deadline = time.monotonic() + STEP_S
    while True:
        try:
            term.enter(f"echo {marker}", rf"^{marker}$", timeout=3)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def detach(term: Terminal) -> None:
    term.keys("C-]")
    term.wait(r"--- detached ---\nhvmon>$", STEP_S)


def ask(env, url: str, name: str, marker: str, script,
        wait: int = 0) -> tuple[str, str, int, float]:
    """(state, variable, counter, uptime) of VM `name`'s shell, asked by `hvmon run`; with
    `wait`, the shell sleeps that many seconds first."""
    done = hvmon(env, "-p", url, "run", str(script), name, marker, str(wait))
    assert done.returncode == 0, done.stderr
    state, variable, count, uptime = done.stdout.split()[-4:]
    print(f"{marker}: {state}, KEPT={variable}, counter {count}, uptime {uptime} s")
    return state, variable, int(count), float(uptime)


def test_snapshot_save_load_and_migrate_as_typed_at_the_repl_and_the_command_line(request, env,
                                                                                   tmp_path):
    a = brought_up_board(request, "test_vm_file_cli-a", smp=2)
    b = brought_up_board(request, "test_vm_file_cli-b", smp=2)
    config = guest_config(tmp_path)
    config.write_text(config.read_text().replace("size = 0x10000000", f"size = {SMALL_RAM:#x}"))
    saved = tmp_path / "linux.hvsnap"
    script = tmp_path / "ask.py"
    script.write_text(ASK)
    screens = results("test_vm_file_cli")

    doing("at the REPL on board A: boot Linux, set a variable, snapshot, wreck, restore, "
          "start a counter, save")
    term = Terminal("hvmon-save", [*HVMON, "-p", a], env, screens / "save.screen")
    try:
        term.wait(r"^hvmon>$", STEP_S)
        term.enter(f"vm create {config} --start", r"started linux", STEP_S)
        attach(term, "linux", "booted")
        term.enter("KEPT=before-save; echo set-$KEPT", r"^set-before-save$", STEP_S)
        detach(term)
        term.enter("vm snapshot linux --as kept",
                   r"^snapshot kept of linux: .* stood still [\d.]+ ms\nhvmon>$", STEP_S)
        attach(term, "linux", "to-wreck")
        term.enter("KEPT=wrecked; echo now-$KEPT", r"^now-wrecked$", STEP_S)
        detach(term)
        term.enter("vm restore linux kept",
                   r"^restored linux from snapshot kept in [\d.]+ ms\nhvmon>$", STEP_S)
        term.enter("vm drop linux kept", r"^dropped snapshot kept of linux\nhvmon>$", STEP_S)
        attach(term, "linux", "restored")
        term.enter("echo back-$KEPT", r"^back-before-save$", STEP_S)
        term.enter("N=0; (while true; do N=$((N+1)); echo $N > /tmp/n; sleep 1; done) & "
                   "sleep 2; echo counting", r"^counting$", STEP_S)
        detach(term)
        screen = term.enter(f"vm save linux {saved}",
                            rf"^saved linux to {re.escape(str(saved))}: .*\d+\.\d s\nhvmon>$")
    finally:
        term.leave()
        term.close()
    ratio = float(re.search(r"over the line \((\d\.\d+)\)", screen).group(1))
    assert 0 < ratio < 1 and saved.stat().st_size > 0
    state, variable, at_save, _ = ask(env, a, "linux", "on-a", script)
    assert (state, variable) == ("running", "before-save") and at_save >= 1

    doing("hvmon migrate on the command line: A -> B while the guest runs")
    moved = hvmon(env, "-p", a, "migrate", "linux", "--to", b)
    assert moved.returncode == 0, moved.stderr
    assert re.match(rf"migrated linux to {re.escape(b)} \(VM \d+ there\): downtime \d+ ms, "
                    r"[\d.]+ MiB moved", moved.stdout), moved.stdout
    print(moved.stdout.strip())
    on_a = hvmon(env, "-p", a, "vm", "list")
    assert on_a.returncode == 0 and "linux" not in on_a.stdout, on_a.stdout
    state, variable, on_b, up = ask(env, b, "linux", "on-b", script)
    assert (state, variable) == ("running", "before-save") and on_b >= at_save
    later, later_up = ask(env, b, "linux", "later-b", script, wait=3)[2:]
    assert later > on_b, \
        f"the counter stood at {on_b} while the guest's uptime went {up} -> {later_up} s"

    doing("a file made for another board, refused on the command line before A is touched")
    wrong = tmp_path / "rk3588.hvsnap"
    blob = bytearray(saved.read_bytes())
    struct.pack_into("32s", blob, 16, b"rk3588")
    wrong.write_bytes(blob)
    refused = hvmon(env, "-p", a, "vm", "load", str(wrong))
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert refused.stderr.startswith(f"hvmon: error: {wrong}: board: made for"), refused.stderr

    doing("at the REPL on board A: the saved file comes back as a second guest")
    term = Terminal("hvmon-load", [*HVMON, "-p", a], env, screens / "load.screen")
    try:
        term.wait(r"^hvmon>$", STEP_S)
        term.enter(f"vm load {saved} --name copy",
                   r"^loaded copy \(VM \d+\) from .*: [\d.]+ \w+ pushed, [\d.]+ \w+ already in "
                   r"place; it runs\nhvmon>$")
        attach(term, "copy", "loaded")
        term.enter("echo loaded-$KEPT", r"^loaded-before-save$", STEP_S)
        detach(term)
    finally:
        term.leave()
        term.close()
    assert ask(env, b, "linux", "still-b", script)[:2] == ("running", "before-save")
