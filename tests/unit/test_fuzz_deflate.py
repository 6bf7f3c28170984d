"""The stub's DEFLATE encoder under the fuzz harness (tests/fuzz/fuzz_deflate.c) without
libFuzzer: thousands of generated inputs, each compressed with a history and inflated back
by zlib and by the stub's own inflate, under ASan and UBSan. `make fuzz` runs the same
harness under libFuzzer."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_generated_input_round_trips(tmp_path):
    build = subprocess.run(["make", "-s", "-C", str(ROOT / "tests" / "fuzz"), f"OUT={tmp_path}",
                            f"{tmp_path}/replay_deflate"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    # Hand-made edge inputs first (replay_main reads at most 64 KiB of a file).
    edges = {"empty": b"\x00\x00\x00", "history only": b"\x00\x80\x00" + bytes(40_000),
             "near the largest input": b"\x00\x80\x03" + (bytes(range(256)) * 256)[:65533],
             "mod 2": b"\x10\x00\x01" + bytes(range(256)) * 64}
    paths = []
    for name, data in edges.items():
        path = tmp_path / name.replace(" ", "_")
        path.write_bytes(data)
        paths.append(str(path))
    run = subprocess.run([str(tmp_path / "replay_deflate"), "-n3000", *paths], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == f"replay: {3000 + len(edges)} inputs, no crash"
