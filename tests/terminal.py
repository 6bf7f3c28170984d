"""A command in a real terminal (a tmux pane): keys in, the rendered screen out.

Every Terminal has a tmux server of its own, on a socket in a folder of its own that
close() removes (a tmux server leaves its socket behind when it exits). Sharing the default
server between xdist workers races: when one test closes the last session, that server
exits, and another worker's `new-session` that has just connected to it fails with "server
exited unexpectedly" (measured: 9 of 120 sessions opened and closed by two processes at
once; CI failed on it once)."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.budget import doing, remaining

# What a terminal keeps above its screen: a console attach replays the guest's whole boot
# log (some 250 lines), and enter() counts matches over all of it.
HISTORY_LINES = 50_000


class Terminal:
    """A command in a tmux pane of its own, on a tmux server of its own."""

    counter = itertools.count()

    def __init__(self, name: str, command: list[str], env: dict[str, str] | None = None,
                 log: Path | None = None, width: int = 150, height: int = 50):
        self.name = f"{name}-{os.getpid()}-{next(self.counter)}-{secrets.token_hex(3)}"
        self.log = log
        self.folder = Path(tempfile.mkdtemp(prefix="hvmon-tmux-"))
        line = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        shell = f"env {line} {shlex.join(command)}; echo terminal-exited-$?; sleep 60"
        # A window keeps the history limit the server had when it was made: enough lines
        # that enter() can count what was shown since a line was typed, over a whole test.
        started = self._tmux("start-server", ";", "set-option", "-g", "history-limit",
                             str(HISTORY_LINES), ";", "new-session", "-d", "-s", self.name,
                             "-x", str(width), "-y", str(height), shell)
        if started.returncode != 0:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise AssertionError(f"tmux could not start {self.name}: {started.stderr.strip()}")

    def _tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-S", str(self.folder / "socket"), *args],
                              capture_output=True, text=True)

    def screen(self, lines: int | str = 200) -> str:
        """The screen and up to `lines` of history above it ("-": all of it)."""
        start = "-" if lines == "-" else f"-{lines}"
        out = self._tmux("capture-pane", "-p", "-J", "-S", start, "-t", self.name).stdout
        return "\n".join(line.rstrip() for line in out.splitlines()).rstrip("\n")

    def wait(self, pattern: str, timeout: float | None = None) -> str:
        """Until the screen shows pattern, for `timeout` seconds or as long as the test's
        budget lasts (less a moment, so this failure, which shows the screen, comes
        before the budget's)."""
        doing(f"waiting for the terminal to show {pattern!r}")
        return self._poll(lambda screen: re.search(pattern, screen, re.M), timeout,
                          f"the terminal never showed {pattern!r}")

    def _poll(self, found, timeout: float | None, failure: str, lines: int | str = 200) -> str:
        limit = max(0.5, remaining() - 2)
        deadline = time.monotonic() + (min(timeout, limit) if timeout else limit)
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(lines)
            if found(screen):
                return screen
            time.sleep(0.15)
        raise AssertionError(f"{failure}; screen:\n{screen[-3000:]}")

    def keys(self, *keys: str) -> None:
        sent = self._tmux("send-keys", "-t", self.name, *keys)
        if sent.returncode != 0:
            raise AssertionError(f"tmux send-keys to {self.name} failed: {sent.stderr.strip()}")

    def type(self, text: str) -> None:
        self.keys("-l", text)

    def enter(self, text: str, until: str, timeout: float | None = None) -> str:
        """Type a line, press Enter, wait until the screen shows `until` once more than it
        did before (a console's header, say, is on the screen from its last attach)."""
        before = len(re.findall(until, self.screen("-"), re.M))
        self.type(text)
        self.keys("Enter")
        doing(f"waiting for the terminal to show {until!r} after {text!r}")
        return self._poll(lambda screen: len(re.findall(until, screen, re.M)) > before, timeout,
                          f"after {text!r} the terminal never showed {until!r} again", lines="-")

    def leave(self) -> None:
        """Leave the REPL (if it still runs) and wait until its process has ended."""
        if "terminal-exited" in self.screen():
            return
        # Clear whatever is on the line, then leave once the fresh prompt is up, as a
        # person would: a Ctrl-D typed while the REPL is between two prompts
        # (prompt_toolkit has let go of the terminal) can be lost.
        prompts = self.screen().count("hvmon>")
        self.keys("C-c")
        deadline = time.monotonic() + 10
        while self.screen().count("hvmon>") <= prompts and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        self.keys("C-d")
        self.wait(r"terminal-exited-")

    def last_line(self) -> str:
        return self.screen().splitlines()[-1]

    def close(self) -> None:
        """Keep the screen in the log, then stop this terminal's tmux server (and with it
        the command, if it still runs)."""
        if self.log:
            self.log.write_text(self.screen())
        self._tmux("kill-server")
        shutil.rmtree(self.folder, ignore_errors=True)
