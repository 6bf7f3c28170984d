"""hvmon: host companion for the hvmon EL2 stub hypervisor.

Layers, lowest first; each imports only from itself and those before it
(tests/unit/test_host_layers.py): errors, protocol (generated from protocol/hvmon.toml)
and tomlfile, which every layer shares; transport/; target/; bringup/; then ui/ and hil/
side by side. board.py only keeps the public `from hvmon.board import Board` working."""


def __getattr__(name: str):
    # __version__ is looked up when asked for: importlib.metadata costs every CLI call a
    # tenth of a second or more to import, and only --version and the REPL's banner use it.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version
    try:
        value = version("hvmon")
    except PackageNotFoundError:  # running from a source tree without an install
        value = "0.0.0"
    globals()["__version__"] = value
    return value
