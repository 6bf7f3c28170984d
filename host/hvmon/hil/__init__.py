"""Hardware-in-the-loop testing with pytest: the `hvmon` pytest plugin (plugin.py, found
through the `pytest11` entry point) and the pieces it is built from: a board under test
that brings itself up and recovers (target.py), guest consoles (console.py), guests made
for one test (guests.py), a module's guest restored from a snapshot before each test
(snapshots.py), per-test serial logs (artifacts.py), boards for xdist workers
(pool.py) and power/reset commands (power.py).

A top layer, beside ui/: it may import bringup/, target/, transport/ and the shared
vocabulary at the package root, never ui/."""

from .console import Console
from .guests import VmFactory, VmHandle
from .target import BoardTarget

__all__ = ["BoardTarget", "Console", "VmFactory", "VmHandle"]
