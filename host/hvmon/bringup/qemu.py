"""The QEMU board: qemu-system-aarch64 with Debian's U-Boot as firmware, its serial
line on a loopback TCP port, never any network."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError, LinkError
from .board_profile import BoardProfile

QEMU_BINARY = "qemu-system-aarch64"


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuBoard:
    """One QEMU process. Start with start() (or `with`), stop with stop(): by its PID only.

    The serial line is a TCP server on 127.0.0.1 that waits for its first client
    before the CPU runs, so nothing U-Boot prints is lost; later clients may come and go.
    A profile with [qemu] stub_serial gets a second line for the stub (stub_url), also
    on loopback, that does not hold the CPU back: the host connects it before booti.
    """

    def __init__(self, profile: BoardProfile, memory: str | None = None, smp: int | None = None,
                 port: int | None = None, extra_args: list[str] | None = None,
                 log_path: Path | None = None, wait_for_client: bool = True,
                 lifetime: float | None = None, serial: str = "tcp"):
        if profile.qemu is None:
            raise ConfigError(f"{profile.path}: board {profile.name} has no [qemu] section")
        self.profile = profile
        self.memory = memory or profile.qemu.memory
        self.smp = smp or profile.qemu.smp
        self.port = port or free_loopback_port()
        self.extra_args = list(extra_args or [])
        self.log_path = log_path
        self.wait_for_client = wait_for_client
        self.lifetime = lifetime
        if serial not in ("tcp", "pty"):
            raise ConfigError(f"QEMU serial must be 'tcp' or 'pty', not {serial!r}")
        self.serial = serial             # "pty": a pseudo-terminal, e.g. for ser2net to export
        self.pty: str | None = None      # its path, once QEMU has said it
        self.qmp_path = None
        self.process: subprocess.Popen | None = None
        self.stub_port: int | None = None
        if profile.qemu.stub_serial:
            if serial != "tcp":
                raise ConfigError(f"{profile.path}: [qemu] stub_serial needs the TCP serial "
                                  "line (a second pty is not supported)")
            self.stub_port = free_loopback_port()
            while self.stub_port == self.port:
                self.stub_port = free_loopback_port()

    @property
    def url(self) -> str:
        if self.serial == "pty":
            return self.pty or ""
        return f"socket://127.0.0.1:{self.port}"

    @property
    def stub_url(self) -> str:
        """Where the stub talks: its own line if the profile gives it one, else serial0."""
        if self.stub_port is None:
            return self.url
        return f"socket://127.0.0.1:{self.stub_port}"

    def _stub_line(self) -> list[str]:
        if self.stub_port is None:
            return []
        return ["-chardev", f"socket,id=stubline,host=127.0.0.1,port={self.stub_port},"
                            "server=on,wait=off,nodelay=on",
                "-device", f"{self.profile.qemu.stub_serial},chardev=stubline"]

    def command(self) -> list[str]:
        q = self.profile.qemu
        wait = "on" if self.wait_for_client else "off"
        bound = ["timeout", "-k", "5", f"{self.lifetime:g}"] if self.lifetime else []
        return [
            *bound,
            QEMU_BINARY,
            "-M", q.machine,
            "-cpu", q.cpu,
            "-m", self.memory,
            "-smp", str(self.smp),
            "-bios", q.bios,
            "-nic", "none",
            "-nographic",
            "-monitor", "none",
            "-serial", ("pty" if self.serial == "pty"
                        else f"tcp:127.0.0.1:{self.port},server=on,wait={wait},nodelay=on"),
            *self._stub_line(),
            *(["-qmp", f"unix:{self.qmp_path},server=on,wait=off"] if self.qmp_path else []),
            *self.extra_args,
        ]

    def enable_qmp(self) -> None:
        """Give QEMU a QMP socket (a unix socket, no network): tests use it to press the
        reset button or pull the power under a running stub. Unix socket paths must stay
        under 108 bytes, so it lives in a short temporary folder."""
        self._qmp_dir = tempfile.TemporaryDirectory(prefix="hvmon-qmp-")
        self.qmp_path = Path(self._qmp_dir.name) / "qmp.sock"

    def qmp(self, command: str, timeout: float = 5.0) -> dict:
        """Run one QMP command (e.g. "system_reset") and return QEMU's answer."""
        if self.qmp_path is None:
            raise ConfigError("QMP was not enabled for this QEMU board")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.qmp_path))
            reader = s.makefile("rb")
            json.loads(reader.readline())                      # greeting
            for request in ({"execute": "qmp_capabilities"}, {"execute": command}):
                s.sendall(json.dumps(request).encode() + b"\n")
                while True:
                    answer = json.loads(reader.readline())
                    if "return" in answer or "error" in answer:
                        break
            return answer

    def start(self, timeout: float = 10.0) -> "QemuBoard":
        if self.running():
            return self                      # `with board.start()` must not start a second one
        if shutil.which(QEMU_BINARY) is None:
            raise ConfigError(f"{QEMU_BINARY} not found: run `make setup`")
        if not Path(self.profile.qemu.bios).is_file():
            raise ConfigError(f"{self.profile.path}: [qemu] bios {self.profile.qemu.bios} "
                              "does not exist: run `make setup` (package u-boot-qemu)")
        if self.serial == "pty" and self.log_path is None:
            # QEMU names the pty it made only in its output: keep that output somewhere.
            self._log_dir = tempfile.TemporaryDirectory(prefix="hvmon-qemu-")
            self.log_path = Path(self._log_dir.name) / "qemu.log"
        out = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        if out is not subprocess.DEVNULL:
            out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:      # wait until the serial port listens
            if self.process.poll() is not None:
                raise LinkError(f"QEMU exited at start with code {self.process.returncode}"
                                + (f" (see {self.log_path})" if self.log_path else ""))
            if self.serial == "pty":
                self.pty = _pty_path(self.log_path)
                if self.pty:
                    return self
            elif _listening(self.port) and (self.stub_port is None or _listening(self.stub_port)):
                return self
            time.sleep(0.05)
        self.stop()
        where = "a serial pty" if self.serial == "pty" else f"its serial port 127.0.0.1:{self.port}"
        raise LinkError(f"QEMU did not open {where} in {timeout} s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop our QEMU by its PID: SIGTERM, then SIGKILL if it does not go."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        if self.qmp_path is not None:
            self._qmp_dir.cleanup()
            self.qmp_path = None
        if getattr(self, "_log_dir", None) is not None:
            self._log_dir.cleanup()
            self._log_dir = self.log_path = None

    def __enter__(self) -> "QemuBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies, so a
    killed hvmon or test run never leaves a QEMU behind (Linux prctl PR_SET_PDEATHSIG)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _pty_path(log_path: Path) -> str | None:
    """QEMU prints "char device redirected to /dev/pts/N (label serial0)" at start."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r"char device redirected to (\S+) \(label serial0\)", text)
    return match.group(1) if match else None


def _listening(port: int) -> bool:
    """True once something accepts on 127.0.0.1:port. With wait=on QEMU accepts our
    probe as its first client, so probe via /proc instead of connecting."""
    needle = f":{port:04X} "
    try:
        with open("/proc/net/tcp") as f:
            return any(needle in line and line.split()[3] == "0A" for line in f)
    except OSError:
        return False
