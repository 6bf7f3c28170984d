"""`hvmon` as scripts and people call it: commands chained with `+` on one connection,
--json, `hvmon run SCRIPT.py`, the user config's named boards and aliases, and bad input
(unknown command, bad number, unreachable port) as one line with the documented exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from hvmon import protocol as P
from tests.budget import remaining
from tests.conftest import run_profile
from tests.integration.test_repl import HVMON, LINUX, board_env, brought_up_board, results
from tests.terminal import Terminal

# The module's board (a bring-up by a CLI process) and a few CLI processes per test.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, processes=4, line_bytes=300_000)]
# The depth each driver reports on the QEMU boards, and where it says it comes from
# (as tests/integration/test_uart_stats.py: QEMU's 16550 has no DW CPR to read).
UART_DEPTH = {"pl011": (16, "the driver's datasheet value"), "16550": (16, "the board profile")}


@pytest.fixture(scope="module")
def url(request) -> str:
    return brought_up_board(request, "test_chain", smp=2)


@pytest.fixture
def board(request) -> str:
    return run_profile(request).name


@pytest.fixture
def env(request, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HVMON_PORT", "HVMON_BOARD")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"),
               **board_env(request))
    return env


def hvmon(env, *args, timeout=None):
    return subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=timeout or remaining(), env=env)


def test_chained_commands_run_in_order_on_one_connection(url, env, tmp_path):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(40_000) + b"\0" * 100_000)
    size = payload.stat().st_size
    result = hvmon(env, "-p", url, "load", str(payload), "0x48000000", "+", "crc", "0x48000000",
                   str(size), "+", "hvc", "echo", "1", "2", "3", "+", "md", "0x48000000", "16")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"loaded {size} bytes at 0x48000000") and "CRC verified" in lines[0]
    assert lines[1] == f"crc32 0x48000000+{size:#x} = {zlib.crc32(payload.read_bytes()):#010x}"
    assert lines[2:6] == ["echo: x0 = 0 (OK)", "  a = 0x1 (1)", "  b = 0x2 (2)", "  c = 0x3 (3)"]
    first = payload.read_bytes()[:16]
    assert lines[6].startswith("0000000048000000  " + " ".join(f"{b:02x}" for b in first))


def test_the_first_failure_stops_the_chain_with_its_exit_code(url, env):
    refused = hvmon(env, "-p", url, "hvc", "echo", "9", "+", "md", "0x1000", "16", "+", "hvc", "version")
    assert refused.returncode == 2
    assert refused.stdout.startswith("echo: x0 = 0 (OK)") and "version" not in refused.stdout
    assert refused.stderr.strip().splitlines() == \
        ["hvmon: error: 0x1000+0x10 is not inside RAM (ram 0x40000000-0x7fffffff)"]
    unsupported = hvmon(env, "-p", url, "hvc", "0xc600ffff", "+", "hvc", "version")
    assert unsupported.returncode == 5
    assert unsupported.stdout.strip() == "0xc600ffff: x0 = -1 (NOT_SUPPORTED (SMCCC -1))"


def test_json_for_scripts(url, env, board, request):
    result = hvmon(env, "-p", url, "--json", "info", "+", "hvc", "echo", "7", "+", "vm", "list",
                   "+", "read", "0x40200038", "4", "+", "read", "0x40200038", "4", "--base64",
                   "+", "uart")
    assert result.returncode == 0, result.stderr
    info, echo, vms, read_hex, read_b64, uart = map(json.loads, result.stdout.splitlines())
    assert info["board"] == board and "HVC" in info["capabilities"]
    assert info["ram"] == [{"base": 0x40000000, "size": 0x40000000}]
    assert any(r["name"] == "stub" and r["base"] == 0x40200000 for r in info["protected"])
    assert (echo["name"], echo["status"], echo["results"]) == ("echo", "OK", {"a": 7, "b": 0, "c": 0})
    assert vms == []
    assert read_hex == {"addr": 0x40200038, "length": 4, "hex": "41524d64"}
    assert read_b64 == {"addr": 0x40200038, "length": 4, "base64": "QVJNZA=="}
    driver = run_profile(request).firmware["uart"]
    assert (uart["driver"], uart["fifo_depth"], uart["depth_source"]) == (driver, *UART_DEPTH[driver])
    assert uart["rx_bytes"] > 0 and uart["tx_bytes"] > 0 and uart["overruns"] == 0


def test_run_a_script_with_a_connected_board(url, env, board, tmp_path):
    script = tmp_path / "probe.py"
    script.write_text("import sys\n"
                      "r = board.hvc('echo', int(sys.argv[1]), 2, 3)\n"
                      "print('script got', r.results['a'], 'on', board.info().board, hvmon.__name__)\n"
                      "sys.exit(int(sys.argv[2]))\n")
    ok = hvmon(env, "-p", url, "run", str(script), "41", "0", "+", "hvc", "version")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == f"script got 41 on {board} hvmon"
    assert "protocol_version" in ok.stdout
    failed = hvmon(env, "-p", url, "run", str(script), "1", "3")
    assert failed.returncode == 3
    missing = hvmon(env, "-p", url, "run", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and missing.stderr.strip() == \
        f"hvmon: error: run: no such script {tmp_path / 'nope.py'}"


def test_named_board_default_and_alias_from_the_user_config(url, env, board, tmp_path):
    env = {k: v for k, v in env.items() if k != "HVMON_BOARD"}     # the config names the board
    config = Path(env["XDG_CONFIG_HOME"]) / "hvmon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'default = "q"\n[boards.q]\nport = "{url}"\nboard = "{board}"\n'
                      '[aliases]\nping = "hvc echo 3 + hvc version"\n')
    by_alias = hvmon(env, "ping")                      # no -p: the default board
    assert by_alias.returncode == 0, by_alias.stderr
    assert by_alias.stdout.splitlines()[:2] == ["echo: x0 = 0 (OK)", "  a = 0x3 (3)"]
    assert f"protocol_version = {P.VERSION:#x}" in by_alias.stdout
    by_name = hvmon(env, "-p", "q", "--json", "info")
    assert json.loads(by_name.stdout)["board"] == board


def test_bad_input_is_one_line_with_the_right_exit_code(url, env):
    unknown = hvmon(env, "-p", url, "hvc", "version", "+", "frobnicate")
    assert unknown.returncode == 2 and unknown.stdout == ""          # nothing ran
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert unknown.stderr.startswith("hvmon: error: unknown command 'frobnicate' (commands: ")
    bad = hvmon(env, "-p", url, "load", str(LINUX), "0x4800_00zz")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["hvmon: error: bad number '0x4800_00zz' for ADDR"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens there once closed
    gone = hvmon(env, "-p", f"socket://127.0.0.1:{port}", "info", "+", "hvc", "version")
    assert gone.returncode == 3
    lines = gone.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hvmon: error: cannot open socket://127.0.0.1:{port}")
    repl = hvmon(env, "-p", f"socket://127.0.0.1:{port}")          # the REPL needs the board too
    assert repl.returncode == 3 and len(repl.stderr.strip().splitlines()) == 1


@pytest.mark.budget(boots=1)
def test_vm_create_start_and_console_chained_in_a_terminal(url, env, tmp_path):
    """The issue's own example, `... + vm start linux + console linux`, typed in a shell."""
    start = time.monotonic()
    term = Terminal("hvmon-chain", [*HVMON, "-p", url, "vm", "create", str(LINUX), "+", "vm", "start",
                                    "linux", "+", "console", "linux"],
                    {k: env[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "HVMON_BOARD")},
                    results("test_chain") / "console.screen")
    try:
        term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---")
        term.wait(r"/ # $|^/ #$")
        term.type("echo chained-$((6*7))")
        term.keys("Enter")
        term.wait(r"^chained-42$")
        term.keys("C-]")
        term.wait(r"--- detached ---\n(.*\n)*terminal-exited-0")
    finally:
        term.close()
    listed = hvmon(env, "-p", url, "vm", "list", "+", "vm", "destroy", "linux")
    assert listed.returncode == 0 and listed.stdout.split()[:3] == ["0", "linux", "running"]
    print(f"chain to a guest shell in {time.monotonic() - start:.1f} s")
