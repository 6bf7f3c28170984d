"""One owner per board: the CLI takes the same lock as the pytest plugin, names who
holds it, and --wait waits for the owner to leave."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

from hvmon.transport.port_lock import PortLock, port_key

URL = "socket://127.0.0.1:1"          # nothing listens: once past the lock, opening fails


def hvmon(env, *args):
    return subprocess.run([sys.executable, "-m", "hvmon.ui.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_the_cli_names_the_owner_and_waits_for_it(tmp_path):
    env = dict(os.environ, HVMON_LOCKS=str(tmp_path))
    lock = PortLock(URL, tmp_path, who="hvmon -p board repl")
    busy = hvmon(env, "-p", URL, "info")
    assert busy.returncode == 3
    assert re.fullmatch(rf"hvmon: error: port {re.escape(URL)} is in use by pid {os.getpid()} "
                        r"\(hvmon -p board repl\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(lock .+\); "
                        r"--wait waits for it to leave\n", busy.stderr), busy.stderr
    short = hvmon(env, "--wait", "0.5", "-p", URL, "info")
    assert "(waited 0.5 s)" in short.stderr
    threading.Timer(1.0, lock.release).start()
    waited = hvmon(env, "--wait", "-p", URL, "info")      # the owner leaves after a second
    assert waited.returncode == 3 and f"cannot open {URL}" in waited.stderr, waited.stderr


def test_a_device_is_one_board_under_any_of_its_names(tmp_path):
    device = tmp_path / "ttyUSB0"
    device.write_text("")
    link = tmp_path / "usb-FTDI_serial-if00-port0"
    link.symlink_to(device)
    assert port_key(str(link)) == port_key(str(device)) == str(device)
    held = PortLock(str(device), tmp_path)
    try:
        PortLock(str(link), tmp_path)
        raise AssertionError("the second name got the lock")
    except Exception as exc:
        assert f"port {link} is in use by pid {os.getpid()}" in str(exc)
    held.release()
