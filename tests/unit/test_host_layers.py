"""The host package's imports point one way, from the layers that use to the layers used.

Lowest first (host/hvmon/*/__init__.py says the same for each package):

    errors, protocol, tomlfile, __version__     the vocabulary every layer shares
    transport/    the serial line: link, expect, serial_ports, linksim, then framing,
                  then session (framing never imports session)
    target/       the stub as an object: Board, VMs, the text monitor
    bringup/      getting a board to a running stub: profiles, QEMU, U-Boot, plans
    labgrid/      the optional labgrid integration: a driver, a strategy, labgrid:PLACE
    ui/ | hil/    the two front ends, side by side: neither imports the other;
                  inside ui/, commands/ never imports repl or cli, built on it
    board         the public shim `from hvmon.board import Board`, for users only

A module may import from its own layer or a lower one. Every import counts, those inside
functions too: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "host" / "hvmon"

# Each entry names module prefixes; a module belongs to the entry with its longest prefix.
LAYERS = [
    ("hvmon", "hvmon.errors", "hvmon.protocol", "hvmon.tomlfile"),
    ("hvmon.transport",),
    ("hvmon.transport.framing",),
    ("hvmon.transport.session",),
    ("hvmon.target",),
    ("hvmon.bringup",),
    ("hvmon.labgrid",),
    ("hvmon.ui", "hvmon.hil"),
    ("hvmon.ui.commands",),
    ("hvmon.ui.repl",),
    ("hvmon.ui.cli",),
    ("hvmon.board",),
]
SIDE_BY_SIDE = ("hvmon.ui", "hvmon.hil")
# `hvmon run` hands scripts the `hvmon` package with its public hvmon.board loaded.
PUBLIC_SHIM_USERS = {("hvmon.ui.commands.tool_cmds", "hvmon.board")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The hvmon modules `name` imports; `from X import y` counts as X.y when y is a module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else source)
    return {m for m in found if m == "hvmon" or m.startswith("hvmon.")}


def home(name: str) -> str:
    """The longest LAYERS prefix `name` falls under."""
    prefixes = [p for layer in LAYERS for p in layer if name == p or name.startswith(p + ".")]
    return max(prefixes, key=len)


def rank(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if home(name) in layer)


def test_every_module_is_placed():
    assert "hvmon.transport.session" in MODULES       # the walk found the package
    for name in MODULES:
        rank(name)                                    # raises for a module outside LAYERS


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_reaches_a_higher_layer(name):
    wrong = sorted(f"{name} (layer {rank(name)}) imports {target} (layer {rank(target)})"
                   for target in imports_of(name)
                   if rank(target) > rank(name) and (name, target) not in PUBLIC_SHIM_USERS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_front_ends_stay_apart(name):
    mine = [side for side in SIDE_BY_SIDE if name.startswith(side + ".") or name == side]
    others = [side for side in SIDE_BY_SIDE if side not in mine]
    if not mine:
        return
    wrong = sorted(t for t in imports_of(name) for side in others
                   if t == side or t.startswith(side + "."))
    assert not wrong, f"{name} imports {wrong}"


def test_the_rule_itself():
    """Session importing board, commands importing the REPL, framing importing session
    or anything inside importing the public shim would each fail above."""
    assert rank("hvmon.target.board") > rank("hvmon.transport.session")
    assert rank("hvmon.ui.repl") > rank("hvmon.ui.commands.tool_cmds")
    assert rank("hvmon.transport.session") > rank("hvmon.transport.framing")
    assert rank("hvmon.board") > rank("hvmon.ui.cli")
    assert "hvmon.transport.framing" in imports_of("hvmon.transport.session")
    assert "hvmon.protocol" in imports_of("hvmon.target.board")
