"""A labgrid lab on loopback for the tests: labgrid's own coordinator and exporter (the
installed labgrid package's commands), and ser2net exporting a QEMU board's pty as RFC
2217. Every process is started here, bounded by `timeout`, and stopped by its PID.

The exporter publishes ser2net's port as a NetworkSerialPort. labgrid's exporter can
start ser2net itself for a RawSerialPort (what it does for USBSerialPort on a lab host),
but it binds that ser2net to every address (`tcp,PORT`); starting ser2net here keeps it
on 127.0.0.1, and clients see a NetworkSerialPort either way."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from hvmon.bringup.qemu import free_loopback_port

BIN = Path(sys.executable).parent     # labgrid-coordinator, -exporter, -client of this venv


def listening(port: int) -> bool:
    """Something listens on the port. Probed through /proc, not by connecting: gRPC's
    server listens on an IPv6 socket even for 127.0.0.1 (a v4-mapped address)."""
    needle = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            if any(needle in line and line.split()[3] == "0A" for line in f):
                return True
    return False


class Process:
    """One child, bounded by `timeout` (SIGTERM at `lifetime`, SIGKILL 5 s later), its
    output in a log file; stop() ends it by its PID."""

    def __init__(self, name: str, argv: list[str], folder: Path, lifetime: float,
                 env: dict[str, str], cwd: Path):
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(["timeout", "-k", "5", f"{lifetime:g}", *argv],
                                      stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                      start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not listening(port):
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}: "
                                     f"{self.output()[-800:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not listen on 127.0.0.1:{port} in {timeout} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            os.kill(self.popen.pid, signal.SIGTERM)   # `timeout` passes it on to the child
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)
        self._log.close()


class Lab:
    """Coordinator + ser2net + exporter for one QEMU pty. client(...) runs labgrid-client
    as a given user; the place's name is `place`."""

    def __init__(self, folder: Path, pty: str, lifetime: float, place: str = "hvmon-qemu"):
        self.folder = folder
        self.pty = pty
        self.lifetime = lifetime
        self.place = place
        self.coordinator_port = free_loopback_port()
        self.serial_port = free_loopback_port()
        while self.serial_port == self.coordinator_port:
            self.serial_port = free_loopback_port()
        self.address = f"127.0.0.1:{self.coordinator_port}"
        self.processes: list[Process] = []

    def env(self, user: str = "hvmon-owner", **extra: str) -> dict[str, str]:
        """labgrid's identity of a client is host/user (LG_HOSTNAME/LG_USERNAME)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
        env.update(LG_COORDINATOR=self.address, LG_USERNAME=user, LG_HOSTNAME="hvmon-test",
                   **extra)
        return env

    def _start(self, name: str, argv: list[str], cwd: Path | None = None) -> Process:
        process = Process(name, argv, self.folder, self.lifetime, self.env(), cwd or self.folder)
        self.processes.append(process)
        return process

    def start(self, timeout: float = 60.0) -> "Lab":
        # The coordinator keeps its places in its working folder: a fresh one per lab,
        # or the place of an earlier run would already exist.
        state = self.folder / "coordinator-state"
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        coordinator = self._start("coordinator", [str(BIN / "labgrid-coordinator"),
                                                  "-l", self.address], cwd=state)
        ser2net_yaml = self.folder / "ser2net.yaml"
        ser2net_yaml.write_text(f"""%YAML 1.1
---
connection: &qemu
    accepter: telnet(rfc2217),tcp,127.0.0.1,{self.serial_port}
    connector: serialdev,{self.pty},115200n81,local
""")
        ser2net = self._start("ser2net", ["ser2net", "-d", "-u", "-P",
                                          str(self.folder / "ser2net.pid"), "-c", str(ser2net_yaml)])
        coordinator.wait_listening(self.coordinator_port, timeout)
        ser2net.wait_listening(self.serial_port, timeout)
        exports = self.folder / "exports.yaml"
        exports.write_text(f"""qemu-board:
  console:
    cls: NetworkSerialPort
    host: 127.0.0.1
    port: {self.serial_port}
    speed: 115200
    protocol: rfc2217
""")
        exporter = self._start("exporter", [str(BIN / "labgrid-exporter"), "-c", self.address,
                                            "-n", "hvmon-exporter", "--hostname", "127.0.0.1",
                                            str(exports)])
        deadline = time.monotonic() + timeout
        while "hvmon-exporter/qemu-board/NetworkSerialPort" not in \
                self.client("resources", check=False).stdout:
            if not exporter.alive():
                raise AssertionError(f"the exporter exited: {exporter.output()[-800:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the exporter's resource did not reach the coordinator "
                                     f"in {timeout} s: {exporter.output()[-800:]}")
            time.sleep(0.5)
        return self

    def client(self, *args: str, user: str = "hvmon-owner", check: bool = True,
               timeout: float = 60.0) -> subprocess.CompletedProcess:
        run = subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args],
                             capture_output=True, text=True, env=self.env(user),
                             timeout=timeout, cwd=self.folder)
        if check and run.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)} exited with "
                                 f"{run.returncode}: {run.stdout}{run.stderr}")
        return run

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
