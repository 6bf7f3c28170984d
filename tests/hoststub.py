"""bench/hoststub for the tests: built into the test's folder, started on a loopback port,
stopped by its PID afterwards."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def running_hoststub(folder: Path, *args: str, connections: int = 2):
    """Yields the running engine (a Popen) with .port and .url set; `args` go to hoststub
    (reservations in its boot DTB, for example)."""
    build = subprocess.run(["make", "-s", "-C", str(ROOT / "bench" / "hoststub"), f"OUT={folder}",
                            f"{folder}/hoststub"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    engine = subprocess.Popen([str(folder / "hoststub"), "--port", "0", "--connections",
                               str(connections), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = engine.stdout.readline()
        assert line.strip().isdigit(), f"no port from hoststub: {line!r} {engine.stderr.read()}"
        engine.port = int(line)
        engine.url = f"socket://127.0.0.1:{engine.port}"
        yield engine
    finally:
        if engine.poll() is None:
            engine.terminate()
        engine.wait(10)
        engine.stdout.close()
        engine.stderr.close()
