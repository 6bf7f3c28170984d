"""hvmon on Windows and macOS: the pytest plugin and the command line import without the
POSIX-terminal and Linux-only modules, which only the code that drives a terminal
(`console`) or a QEMU board (Linux: prctl, /proc) touches, and only when it runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "host" / "hvmon"
POSIX_ONLY = ("fcntl", "termios", "tty", "pty", "resource", "grp", "pwd")
# Where Linux-only calls may be: the QEMU board (prctl, /proc/net/tcp, a QMP unix socket).
LINUX_ONLY_ALLOWED = {"bringup/qemu.py", "transport/watch.py"}   # watch: POSIX, optional
LINUX_ONLY_CALLS = ("/proc/", "prctl", "AF_UNIX", "os.getuid", "signal.SIGHUP")


REFUSE_FOR_HVMON = """
import builtins, sys
real_import = builtins.__import__
def refusing(name, globals=None, locals=None, fromlist=(), level=0):
    # hvmon's own imports of these fail, as they would on Windows; pyserial and filelock
    # pick their platform's modules themselves and keep theirs.
    if name.split(".")[0] in POSIX_ONLY and (globals or {}).get("__name__", "").startswith("hvmon"):
        raise ImportError(f"{globals['__name__']} imports {name}")
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = refusing
"""


def test_the_plugin_and_the_cli_import_without_posix_only_modules():
    program = (f"POSIX_ONLY = {POSIX_ONLY!r}\n" + REFUSE_FOR_HVMON
               + "import hvmon.hil.plugin, hvmon.ui.cli, hvmon.ui.repl, hvmon.board\n"
               "from hvmon.ui.cli import main\n"
               "sys.exit(main(['help']))\n")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "completion" in run.stdout and "power" in run.stdout


def test_no_module_imports_a_posix_only_module_at_import_time():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:                     # module level only: lazy imports are fine
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names
                          if n.split(".")[0] in POSIX_ONLY]
    assert not offenders


def test_linux_only_calls_stay_on_the_qemu_paths():
    found = [f"{path.relative_to(PACKAGE)}: {call}"
             for path in sorted(PACKAGE.rglob("*.py"))
             if str(path.relative_to(PACKAGE)) not in LINUX_ONLY_ALLOWED
             for call in LINUX_ONLY_CALLS if call in path.read_text()]
    assert not found
