"""Many may watch, on the real stub in real QEMU: a REPL owns the board and boots a Linux
guest; `hvmon watch linux` and `hvmon watch` (every channel) in other processes follow
its console live, a would-be owner is still refused with the owner named, and the
watchers end cleanly, saying so, when the owner leaves."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import pytest

from tests.budget import doing, remaining
from tests.conftest import child_env
from tests.integration.test_repl import LINUX, board_env, brought_up_board, results
from tests.terminal import Terminal

pytestmark = [pytest.mark.qemu]

HVMON = [sys.executable, "-m", "hvmon.ui.cli"]


class Watcher:
    """`hvmon watch` as a process; what it prints, collected as it comes."""

    def __init__(self, url: str, env: dict, *channel: str):
        self.process = subprocess.Popen([*HVMON, "-p", url, "watch", *channel], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.err = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self) -> None:
        while data := self.process.stdout.read1(65536):
            self.out += data

    def _read_err(self) -> None:
        while data := self.process.stderr.read1(65536):
            self.err += data

    def connected(self) -> None:
        """Once it says it watches, it is connected: nothing published later is missed."""
        doing("waiting for a watcher to connect to the owner")
        while b"hvmon: watching " not in self.err:
            if self.process.poll() is not None:
                self.err_reader.join(5)
                raise AssertionError(f"the watcher ended: {self.err!r}")
            time.sleep(0.1)

    def wait_for(self, pattern: bytes) -> None:
        doing(f"waiting for a watcher to show {pattern!r}")
        while not re.search(pattern, bytes(self.out)):
            if self.process.poll() is not None:
                self.err_reader.join(5)
                raise AssertionError(f"the watcher ended: {self.err!r}")
            time.sleep(0.1)

    def finish(self) -> int:
        code = self.process.wait(remaining())
        self.reader.join(5)
        self.err_reader.join(5)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.mark.budget(bringups=1, boots=1, processes=5)
def test_others_watch_a_guest_live_through_its_owner(request, tmp_path):
    url = brought_up_board(request, "test_watch", smp=2)
    env = child_env(HVMON_LOCKS=str(tmp_path / "locks"), XDG_STATE_HOME=str(tmp_path / "state"),
                    XDG_CONFIG_HOME=str(tmp_path / "config"), **board_env(request))
    owner = Terminal("hvmon-watch-owner", [*HVMON, "-p", url, "repl"],
                     {k: env[k] for k in ("HVMON_LOCKS", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
                                          "HVMON_BOARD")}
                     | {"PYTHONPATH": env.get("PYTHONPATH", "")},
                     results("test_watch") / f"{request.node.name}.screen")
    request.addfinalizer(owner.close)
    owner.wait(r"^hvmon>$")
    one = Watcher(url, env, "linux")
    every = Watcher(url, env)
    request.addfinalizer(one.stop)
    request.addfinalizer(every.stop)
    one.connected()
    every.connected()

    owner.type(f"vm create {LINUX} --start")
    owner.keys("Enter")
    owner.wait(r"started linux")
    one.wait_for(rb"Run /init as init process")              # the guest's boot, live
    one.wait_for(rb"/ # ")
    every.wait_for(rb"\[linux\] .*Run /init as init process")

    owner.type("console linux")                 # typed at the owner, seen by the watchers
    owner.keys("Enter")
    owner.wait(r"--- console of linux")
    owner.type("echo watched-$((6 * 7))")
    owner.keys("Enter")
    one.wait_for(rb"\nwatched-42\r?\n")
    every.wait_for(rb"\[linux\] watched-42")

    doing("a would-be owner while the REPL holds the board")
    refused = subprocess.run([*HVMON, "-p", url, "info"], capture_output=True, text=True,
                             timeout=remaining(), env=env)
    assert refused.returncode == 3
    assert re.search(rf"port {re.escape(url)} is in use by pid \d+ \(cli\.py -p {re.escape(url)} "
                     r"repl\) since ", refused.stderr), refused.stderr

    owner.keys("C-]")
    owner.wait(r"--- detached ---\nhvmon>$")
    owner.keys("C-d")
    owner.wait(r"terminal-exited-0")
    for watcher in (one, every):
        assert watcher.finish() == 0, watcher.err
        assert re.search(rb"hvmon: the owner of \S+, pid \d+ \(cli\.py -p \S+ repl\), left: "
                         rb"nothing more to watch", watcher.err), watcher.err
    assert b"hvmon: watching channel linux of" in one.err
    assert b"hvmon: watching every channel of" in every.err


INNER_TEST = '''
import os, pathlib, time

def test_guest_under_watch(console):
    console.expect(r"/ # ", timeout=120)
    go = pathlib.Path(os.environ["WATCHED"])
    while not go.exists():                       # until the outer test's watcher is there
        time.sleep(0.1)
    console.send("echo plugin-$((6 * 7))")
    console.expect(r"plugin-42")
'''


@pytest.mark.budget(bringups=1, boots=1, processes=4)
def test_a_test_runs_guest_is_watched_through_the_pytest_plugin(request, tmp_path):
    url = brought_up_board(request, "test_watch_plugin", smp=2)
    env = child_env(HVMON_LOCKS=str(tmp_path / "locks"), XDG_STATE_HOME=str(tmp_path / "state"),
                    XDG_CONFIG_HOME=str(tmp_path / "config"), WATCHED=str(tmp_path / "watched"),
                    **board_env(request))
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                            "--rootdir", str(tmp_path), "test_inner.py", "--hvmon-port", url,
                            "--hvmon-board", env["HVMON_BOARD"]],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    request.addfinalizer(lambda: run.poll() is None and run.kill())
    doing("waiting for the test run to own the board")
    while not list((tmp_path / "locks").glob("*.owner")):
        assert run.poll() is None, run.communicate()[0]
        time.sleep(0.1)
    watcher = Watcher(url, env, "linux")
    request.addfinalizer(watcher.stop)
    watcher.connected()
    refused = subprocess.run([*HVMON, "-p", url, "info"], capture_output=True, text=True,
                             timeout=remaining(), env=env)
    assert refused.returncode == 3
    assert re.search(r"in use by pid \d+ \(pytest worker \w+\)", refused.stderr), refused.stderr
    (tmp_path / "watched").touch()
    watcher.wait_for(rb"\nplugin-42\r?\n")
    assert run.wait(remaining()) == 0, run.stdout.read()
    assert watcher.finish() == 0, watcher.err
    assert re.search(rb"the owner of \S+, pid \d+ \(pytest worker \w+\), left", watcher.err), \
        watcher.err
