"""The stub's link code (frame decoder, window, every request handler), compiled for the
host with ASan and UBSan, over thousands of generated inputs: the harness also checks that
every frame the stub sends is well formed and that nothing is written outside the RAM map
or into the stub's own image. `make fuzz` runs the same harness under libFuzzer."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_replay_of_generated_inputs_finds_nothing(tmp_path):
    build = subprocess.run(["make", "-s", "-C", str(ROOT / "tests" / "fuzz"), f"OUT={tmp_path}",
                            f"{tmp_path}/replay_session"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tmp_path / "replay_session"), "-n4000"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "replay: 4000 inputs, no crash"
