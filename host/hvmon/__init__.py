"""hvmon: host companion for the hvmon EL2 stub hypervisor.

Layers, lowest first; each imports only from itself and those before it
(tests/unit/test_host_layers.py): errors, protocol (generated from protocol/hvmon.toml)
and tomlfile, which every layer shares; transport/; target/; bringup/; then ui/ and hil/
side by side. board.py only keeps the public `from hvmon.board import Board` working."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hvmon")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
