"""hvmon on boards shared through labgrid: a labgrid driver that runs the stub over a
place's serial line (driver.py), a strategy that takes the board off -> uboot -> stub ->
vm (strategy.py), and `labgrid:PLACE` as a port for the CLI and the pytest plugin
(place.py, resolved through serial_url.py).

Labs that share boards already run labgrid's coordinator and exporters; hvmon uses
them and builds none of its own. labgrid is an optional extra (`pip install
'hvmon[labgrid]'`): nothing outside this package imports it, so hvmon works without it.

A layer above bringup/ and below ui/ and hil/ (which take `labgrid:PLACE` through it):
it may import bringup/, target/, transport/ and the shared vocabulary. Importing it registers HvmonDriver and
HvmonStrategy with labgrid, which is what an environment YAML's `imports: [hvmon.labgrid]`
is for."""

try:
    import labgrid  # noqa: F401
except ImportError as exc:      # say what to install, not just which module is missing
    raise ImportError(f"hvmon.labgrid needs labgrid ({exc}): pip install 'hvmon[labgrid]'") from exc

from .driver import HvmonDriver
from .strategy import HvmonStrategy, Status

__all__ = ["HvmonDriver", "HvmonStrategy", "Status"]
