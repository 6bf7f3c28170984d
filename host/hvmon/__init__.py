"""hvmon: host companion for the hvmon EL2 stub hypervisor."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hvmon")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
