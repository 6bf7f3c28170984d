#!/usr/bin/env python3
"""How long living through a reset or an unplugged line takes, on the QEMU board, through
the code the REPL and `console` use (hvmon.ui.commands.reconnect):

    reset noticed     QMP system_reset -> the idle session failed with BoardReset
    reup              recover() with --reup: U-Boot prompt, loady, booti, HELLO
    line back         the relay listening again -> recover() returned with a session
                      (its POLL, the closed port's settle time, HELLO and INFO)

Prints min / median / max of RUNS runs per row and writes bench/results/reconnect-*.md.
"""

from __future__ import annotations

import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
sys.path.insert(0, str(ROOT))

from hvmon.bringup.board_profile import load_profile  # noqa: E402
from hvmon.bringup.qemu import QemuBoard  # noqa: E402
from hvmon.transport.session import BoardReset  # noqa: E402
from hvmon.ui.commands import Context, GlobalOptions  # noqa: E402
from hvmon.ui.commands.reconnect import lost, recover  # noqa: E402
from tests.relay import Relay  # noqa: E402

RUNS = 5
QUIET = lambda text: None  # noqa: E731


def until(check, what: str, bound: float = 120.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit(f"bench_reconnect: no {what} within {bound:g} s")


def context(url: str, reup: bool = False) -> Context:
    ctx = Context(GlobalOptions(port=url, quiet=True, reup=reup))
    ctx.notify = QUIET
    return ctx


def resets(qemu: QemuBoard) -> tuple[list[float], list[float]]:
    noticed, reup = [], []
    ctx = context(qemu.url, reup=True)
    ctx.board()
    for _ in range(RUNS):
        started = time.monotonic()
        qemu.qmp("system_reset")
        error = until(lambda: lost(ctx), "BoardReset")
        noticed.append(time.monotonic() - started)
        assert isinstance(error, BoardReset), error
        started = time.monotonic()
        recover(ctx, error)
        reup.append(time.monotonic() - started)
        ctx.board().hvc("echo", 1, 2, 3)
    ctx.close()
    return noticed, reup


def unplugs(qemu: QemuBoard) -> list[float]:
    back = []
    relay = Relay(qemu.port)
    ctx = context(relay.url)
    ctx.board()
    for _ in range(RUNS):
        relay.unplug()
        error = until(lambda: lost(ctx), "lost line")
        done = threading.Event()
        result = {}

        def carry_on():
            recover(ctx, error)
            result["at"] = time.monotonic()
            done.set()
        worker = threading.Thread(target=carry_on)
        worker.start()
        time.sleep(1.0)                      # hvmon is waiting for the line meanwhile
        plugged = time.monotonic()
        relay.plug()
        worker.join(120)
        back.append(result["at"] - plugged)
        ctx.board().hvc("echo", 1, 2, 3)
    ctx.close()
    relay.unplug()
    return back


def row(name: str, values: list[float]) -> str:
    return (f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} | "
            f"{max(values):.2f} | {len(values)} |")


def main() -> None:
    os.environ.setdefault("HVMON_LOCKS", tempfile.mkdtemp(prefix="hvmon-bench-locks-"))
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="hvmon-bench-state-")
    qemu = QemuBoard(load_profile("qemu-virt"), lifetime=900)
    qemu.enable_qmp()
    qemu.start()
    try:
        up = subprocess.run([sys.executable, "-m", "hvmon.ui.cli", "-p", qemu.url, "bringup"],
                            capture_output=True, text=True, timeout=300)
        if up.returncode:
            raise SystemExit(up.stderr)
        noticed, reup = resets(qemu)
        back = unplugs(qemu)
    finally:
        qemu.stop()
    load = os.getloadavg()[0]
    lines = [f"# hvmon reconnect, {datetime.datetime.now():%Y-%m-%d %H:%M}, load {load:.1f}", "",
             "| what | min s | median s | max s | runs |", "| --- | --- | --- | --- | --- |",
             row("reset noticed (system_reset -> BoardReset)", noticed),
             row("--reup (U-Boot, loady, booti, HELLO)", reup),
             row("line back -> session again", back)]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"reconnect-{datetime.datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text(text)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
