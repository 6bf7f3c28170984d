"""`hvmon completion bash|zsh|fish`: scripts generated from the command registry that
complete as the REPL does (command names, hypercalls, action words, files), run in the
real shells."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from hvmon.ui.cli import REGISTRY        # cli registers `completion` itself
from hvmon.ui.commands.vm_cmds import ACTIONS as VM_ACTIONS

HVMON = [sys.executable, "-m", "hvmon.ui.cli"]


def completion_script(shell: str, tmp_path):
    run = subprocess.run([*HVMON, "completion", shell], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    path = tmp_path / f"hvmon.{shell}"
    path.write_text(run.stdout)
    return path


def bash_complete(script, line: str, cwd) -> list[str]:
    """What bash's completion function offers for the line (cursor at its end)."""
    words = line.split(" ")
    program = (f"source {script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n_hvmon\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    run = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=cwd, timeout=30)
    assert run.returncode == 0, run.stderr
    return sorted(filter(None, run.stdout.splitlines()))


CASES = [
    ("hvmon hv", ["hvc"]),
    ("hvmon -p socket://x:1 --log-dir logs vm ", sorted(VM_ACTIONS)),
    ("hvmon vm create pl", ["plan.toml"]),
    ("hvmon info + hvc ec", ["echo"]),
    ("hvmon power c", ["cycle"]),
    ("hvmon completion f", ["fish"]),
    ("hvmon --time", ["--timestamps"]),
    ("hvmon read -", ["--base64", "--compress", "--help", "--output", "-h", "-o"]),
]


@pytest.mark.parametrize("line, offered", CASES)
def test_bash_completes_from_the_registry(tmp_path, line, offered):
    (tmp_path / "plan.toml").write_text("")
    assert bash_complete(completion_script("bash", tmp_path), line, tmp_path) == offered


def test_every_command_completes_in_bash(tmp_path):
    assert bash_complete(completion_script("bash", tmp_path), "hvmon ", tmp_path) == sorted(REGISTRY)


def test_fish_completes_the_same(tmp_path):
    fish = shutil.which("fish")
    assert fish, "fish is installed by scripts/setup.sh"
    script = completion_script("fish", tmp_path)
    (tmp_path / "plan.toml").write_text("")
    for line, offered in CASES:
        run = subprocess.run([fish, "--no-config", "-c", f"source {script}; complete -C '{line}'"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=30)
        assert run.returncode == 0, run.stderr
        got = sorted(entry.split("\t")[0] for entry in run.stdout.splitlines() if entry)
        assert got == offered, (line, got)


def test_zsh_loads_the_script_through_bashcompinit(tmp_path):
    zsh = shutil.which("zsh")
    assert zsh, "zsh is installed by scripts/setup.sh"
    script = completion_script("zsh", tmp_path)
    run = subprocess.run([zsh, "-f", "-c", f"autoload -U compinit && compinit -u; source {script}; "
                          "print -r -- $_comps[hvmon]"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "_hvmon" in run.stdout
