"""hvmon installs like a tool: the wheel `python -m build` makes, installed into a fresh
virtual environment outside the repository, brings the QEMU board up from another
directory with the board profiles and stub images it carries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.budget import doing, remaining
from tests.conftest import REPO, run_profile

pytestmark = [pytest.mark.qemu]


def run(*args, cwd, env=None):
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=remaining(), env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


# Building (sdist, then the wheel from it, each in an isolated environment pip fills) and
# installing with the dependencies are the slow part: about a minute each.
@pytest.mark.budget(bringups=1, processes=6, seconds=240)
def test_the_wheel_installed_elsewhere_brings_the_qemu_board_up(request, tmp_path):
    board = run_profile(request).name             # the wheel carries every board's profile and stub
    doing("python -m build")
    run(sys.executable, "-m", "build", "--outdir", tmp_path / "dist", REPO, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("hvmon-*.whl")
    doing("a fresh venv with the wheel")
    run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    run(tmp_path / "venv/bin/python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Nothing points back at the checkout: no HVMON_* variables, no PYTHONPATH.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    where = run(tmp_path / "venv/bin/python", "-c",
                "from hvmon.bringup.board_profile import boards_dir, load_profile\n"
                f"print(boards_dir()); print(load_profile({board!r}).image())", cwd=elsewhere, env=env)
    boards, image = where.stdout.split()
    assert boards.startswith(str(tmp_path / "venv")) and image.startswith(str(tmp_path / "venv"))
    plan = elsewhere / "plan.toml"
    plan.write_text(f'board = "{board}"\nreach = "uboot"\n')
    doing("the installed hvmon brings the QEMU board up")
    up = run(tmp_path / "venv/bin/hvmon", "up", "plan.toml", "--no-terminal", cwd=elsewhere, env=env)
    assert "up: nothing to do" in up.stdout
    assert f"up on {board}" in up.stderr and "QEMU stopped" in up.stderr
    completion = run(tmp_path / "venv/bin/hvmon", "completion", "bash", cwd=elsewhere, env=env)
    assert "complete -o filenames -F _hvmon hvmon" in completion.stdout
    plugin = run(tmp_path / "venv/bin/python", "-c",
                 "from importlib.metadata import entry_points\n"
                 "print([e.value for e in entry_points(group='pytest11')])", cwd=elsewhere, env=env)
    assert "hvmon.hil.plugin" in plugin.stdout
