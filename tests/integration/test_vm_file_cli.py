"""`vm save`, `vm load` and `migrate` as their users type them, on two QEMU boards: a person
at the REPL on board A boots Linux, gives its shell a variable and a counter, saves it to a
file; `hvmon migrate` on the command line moves the running guest to board B, where the
variable reads back and the counter goes on; a file made for another board is refused in
one line; and at the REPL on A the file comes back as a second guest that remembers the
variable. (test_vm_file_two_boards and test_migrate drive the same through `Board`.)"""

from __future__ import annotations

import os
import re
import struct
import subprocess

import pytest

from tests.budget import doing, remaining
from tests.integration.test_repl import HVMON, Terminal, board_env, brought_up_board, results
from tests.integration.test_guests import guest_config
from tests.integration.test_vm_file_two_boards import SMALL_RAM

# Two boards, one Linux boot; the guest's RAM crosses the lines three times (save, move,
# load): on the PL011 board of `make test` that is many minutes, so the run on
# qemu-virt-16550 (`make test-16550`) has it.
pytestmark = [pytest.mark.qemu,
              pytest.mark.runs_on_board("qemu-virt-16550", "a guest's RAM across two boards' "
                                        "stub lines, three times: minutes on the PL011 board"),
              pytest.mark.budget(bringups=2, boots=1, processes=6, line_bytes=150_000_000)]

# What the guest's shell prints for check(): its variable and the counter's last value.
CHECK = "echo at-{0}-$KEPT-$(cat /tmp/n)-end"
ANSWER = r"at-{0}-(\S+)-(\d+)-end"

# The `run` script that asks a VM's shell on a board the same, through the console API.
ASK = '''
import sys
from hvmon.hil.console import Console
from hvmon.target.vms import vm_list
name, marker = sys.argv[1], sys.argv[2]
vm = next(entry for entry in vm_list(board) if entry.name == name)
console = Console(board, vm.id, name)
console.send({check!r}.format(marker))
match = console.expect({answer!r}.format(marker).encode(), 30)
print(f"{{vm.state}} {{match.group(1).decode()}} {{match.group(2).decode()}}")
'''.format(check=CHECK, answer=ANSWER)


@pytest.fixture
def env(request, tmp_path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **board_env(request)}


def hvmon(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=remaining(),
                          env={**os.environ, **env})


def ask(env, url: str, name: str, marker: str, script) -> tuple[str, str, int]:
    """(state, variable, counter) of VM `name`'s shell, asked by `hvmon run`."""
    done = hvmon(env, "-p", url, "run", str(script), name, marker)
    assert done.returncode == 0, done.stderr
    state, variable, count = done.stdout.split()[-3:]
    return state, variable, int(count)


def test_save_at_the_repl_migrate_on_the_command_line_load_at_the_repl(request, env, tmp_path):
    a = brought_up_board(request, "test_vm_file_cli-a", smp=2)
    b = brought_up_board(request, "test_vm_file_cli-b", smp=2)
    config = guest_config(tmp_path)
    config.write_text(config.read_text().replace("size = 0x10000000", f"size = {SMALL_RAM:#x}"))
    saved = tmp_path / "linux.hvsnap"
    script = tmp_path / "ask.py"
    script.write_text(ASK)
    screens = results("test_vm_file_cli")

    doing("at the REPL on board A: boot Linux, set a variable, start a counter, save")
    term = Terminal("hvmon-save", [*HVMON, "-p", a], env, screens / "save.screen")
    try:
        term.wait(r"^hvmon>$")
        term.type(f"vm create {config} --start")
        term.keys("Enter")
        term.wait(r"started linux")
        term.type("console linux")
        term.keys("Enter")
        term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---")
        term.keys("Enter")
        term.wait(r"^/ #$")
        term.type("KEPT=before-save; echo set-$KEPT")
        term.keys("Enter")
        term.wait(r"^set-before-save$")
        term.type("N=0; (while true; do N=$((N+1)); echo $N > /tmp/n; sleep 1; done) & "
                  "sleep 2; echo counting")
        term.keys("Enter")
        term.wait(r"^counting$")
        term.keys("C-]")
        term.wait(r"--- detached ---\nhvmon>$")
        term.type(f"vm save linux {saved}")
        term.keys("Enter")
        screen = term.wait(rf"^saved linux to {re.escape(str(saved))}: .*\d+\.\d s\nhvmon>$")
    finally:
        term.leave()
        term.close()
    ratio = float(re.search(r"over the line \((\d\.\d+)\)", screen).group(1))
    assert 0 < ratio < 1 and saved.stat().st_size > 0
    state, variable, at_save = ask(env, a, "linux", "on-a", script)
    assert (state, variable) == ("running", "before-save") and at_save >= 1

    doing("hvmon migrate on the command line: A -> B while the guest runs")
    moved = hvmon(env, "-p", a, "migrate", "linux", "--to", b)
    assert moved.returncode == 0, moved.stderr
    assert re.match(rf"migrated linux to {re.escape(b)} \(VM \d+ there\): downtime \d+ ms, "
                    r"[\d.]+ MiB moved", moved.stdout), moved.stdout
    print(moved.stdout.strip())
    on_a = hvmon(env, "-p", a, "vm", "list")
    assert on_a.returncode == 0 and "linux" not in on_a.stdout, on_a.stdout
    state, variable, on_b = ask(env, b, "linux", "on-b", script)
    assert (state, variable) == ("running", "before-save") and on_b >= at_save
    assert ask(env, b, "linux", "later-b", script)[2] > on_b or \
        ask(env, b, "linux", "even-later-b", script)[2] > on_b

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
        term.wait(r"^hvmon>$")
        term.type(f"vm load {saved} --name copy")
        term.keys("Enter")
        term.wait(r"^loaded copy \(VM \d+\) from .*: [\d.]+ \w+ pushed, [\d.]+ \w+ already in "
                  r"place; it runs\nhvmon>$")
        term.type("console copy")
        term.keys("Enter")
        term.wait(r"--- console of copy \(VM \d+\) --- Ctrl-\] detaches ---")
        term.type("echo loaded-$KEPT")
        term.keys("Enter")
        term.wait(r"^loaded-before-save$")
        term.keys("C-]")
        term.wait(r"--- detached ---\nhvmon>$")
    finally:
        term.leave()
        term.close()
    assert ask(env, b, "linux", "still-b", script)[:2] == ("running", "before-save")
