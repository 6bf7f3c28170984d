"""hvmon.labgrid with labgrid's real objects (no coordinator needed here; the integration
test runs one): serial resources as URLs, the driver and strategy registered and bound,
and hvmon itself importing and working without labgrid installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from labgrid import Target
from labgrid.factory import target_factory
from labgrid.resource import NetworkSerialPort, RawSerialPort
from labgrid.strategy.common import StrategyError

import hvmon.labgrid  # noqa: F401  (registers the driver and the strategy)
from hvmon.errors import ConfigError
from hvmon.labgrid.driver import HvmonDriver
from hvmon.labgrid.serial_url import serial_url
from hvmon.labgrid.strategy import HvmonStrategy, Status

REPO = Path(__file__).resolve().parents[2]


def test_network_serial_ports_become_pyserial_urls():
    target = Target("urls")
    rfc = NetworkSerialPort(target, "ser2net", host="127.0.0.1", port=4001)
    raw = NetworkSerialPort(target, "raw", host="127.0.0.1", port=4002, protocol="raw")
    assert serial_url(rfc) == "rfc2217://127.0.0.1:4001"
    assert serial_url(raw) == "socket://127.0.0.1:4002"


def test_a_local_serial_port_is_its_device():
    target = Target("local")
    assert serial_url(RawSerialPort(target, "uart", port="/dev/ttyUSB3")) == "/dev/ttyUSB3"


def test_an_unknown_protocol_or_missing_port_is_named():
    target = Target("bad")
    with pytest.raises(ConfigError, match=r"labgrid resource odd: protocol 'telnet' is neither of rfc2217, raw"):
        serial_url(NetworkSerialPort(target, "odd", host="127.0.0.1", port=1, protocol="telnet"))
    with pytest.raises(ConfigError, match=r"no TCP port published yet"):
        serial_url(NetworkSerialPort(target, "unpublished", host="127.0.0.1", port=None))


def test_driver_and_strategy_are_registered_for_environment_yaml():
    assert target_factory.drivers["HvmonDriver"] is HvmonDriver
    assert target_factory.drivers["HvmonStrategy"] is HvmonStrategy


def bound_strategy(**driver_args) -> HvmonStrategy:
    target = Target("board")
    RawSerialPort(target, None, port="/dev/null")
    HvmonDriver(target, None, **driver_args)
    return HvmonStrategy(target, None)


def test_the_strategy_binds_the_driver_and_names_its_states():
    strategy = bound_strategy(board_profile="rk3588")
    assert strategy.hvmon.profile.name == "rk3588"
    assert strategy.power is None                 # optional: the place has no power driver
    assert strategy.status == Status.unknown
    with pytest.raises(StrategyError) as refused:
        strategy.transition("shell")
    assert "no state 'shell' (states: off, uboot, stub, vm)" in str(refused.value.__cause__)


def test_off_without_any_power_control_is_refused_with_the_reason():
    strategy = bound_strategy()                   # qemu-virt: no [power] section
    with pytest.raises(StrategyError) as refused:
        strategy.transition("off")
    assert "can not switch the board off: the place has no power driver" in str(refused.value.__cause__)


def test_an_unknown_board_profile_is_refused_at_binding():
    with pytest.raises(ConfigError, match=r"no board profile .*no-such-board"):
        bound_strategy(board_profile="no-such-board")


BLOCK_LABGRID = """
import sys
class NoLabgrid:
    def find_spec(self, name, path=None, target=None):
        if name == "labgrid" or name.startswith("labgrid."):
            raise ImportError(f"No module named {name!r} (blocked)")
sys.meta_path.insert(0, NoLabgrid())
"""


def test_hvmon_works_without_labgrid_and_says_what_to_install():
    script = BLOCK_LABGRID + """
import hvmon.ui.cli, hvmon.hil.plugin, hvmon.bringup.plan, hvmon.board
assert not any(m == "labgrid" or m.startswith("labgrid.") for m in sys.modules)
try:
    import hvmon.labgrid
except ImportError as exc:
    print("import:", exc)
sys.exit(hvmon.ui.cli.main(["-p", "labgrid:lab-board", "info"]))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=REPO)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "import: hvmon.labgrid needs labgrid" in run.stdout
    assert "pip install 'hvmon[labgrid]'" in run.stdout
    assert run.stderr.startswith("hvmon: error: -p labgrid:lab-board: hvmon.labgrid needs labgrid")
