"""Board pools for xdist workers: the pool file, worker numbers and the port locks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hvmon.errors import ConfigError, HvmonError
from hvmon.hil.pool import PortLock, load_pool, pool_entry, worker_index


def write(tmp_path, text):
    path = tmp_path / "pool.toml"
    path.write_text(text)
    return path


def test_workers_take_the_entry_of_their_number(tmp_path, monkeypatch):
    pool = write(tmp_path, '[[board]]\nport = "rfc2217://lab:4001"\nboard = "rk3588"\n'
                           '[[board]]\nport = "/dev/ttyUSB1"\n')
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert worker_index() == 1
    entry = pool_entry(pool, worker_index())
    assert (entry.port, entry.board) == ("/dev/ttyUSB1", None)
    assert load_pool(pool)[0].board == "rk3588"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert worker_index() == 0


def test_more_workers_than_boards_is_an_error(tmp_path, monkeypatch):
    pool = write(tmp_path, '[[board]]\nport = "/dev/ttyUSB0"\n')
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with pytest.raises(ConfigError, match=r"pool.toml: worker gw1 needs board\[1\], the pool "
                                          r"has 1 \(run fewer workers: -n 1\)"):
        pool_entry(pool, 1)


@pytest.mark.parametrize("text, error", [
    ("", r"pool.toml: board: needs at least one \[\[board\]\] table"),
    ('[[board]]\nboard = "rk3588"\n', r"pool.toml: board\[0\].port: missing"),
    ('[[board]]\nport = "/dev/ttyUSB0"\nbaud = 9600\n', r"board\[0\].baud: unknown key"),
    ('[[board]]\nport = "/dev/ttyUSB0"\n[[board]]\nport = "/dev/ttyUSB0"\n',
     r"board\[1\].port: /dev/ttyUSB0 is also board\[0\]'s port"),
    ('[[board]\n', r"pool.toml: "),
])
def test_bad_pool_files_name_the_key(tmp_path, text, error):
    with pytest.raises(ConfigError, match=error):
        load_pool(write(tmp_path, text))


def test_a_port_is_locked_against_another_process(tmp_path):
    lock = PortLock("rfc2217://lab:4001", tmp_path)
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from hvmon.hil.pool import PortLock; from hvmon.errors import HvmonError\n"
         "try:\n    PortLock('rfc2217://lab:4001', Path(sys.argv[1]))\n"
         "except HvmonError as exc:\n    print(exc); sys.exit(9)", str(tmp_path)],
        capture_output=True, text=True, timeout=30)
    assert other.returncode == 9, other.stderr
    assert "port rfc2217://lab:4001 is in use by pid" in other.stdout
    assert "no two workers may share a board" in other.stdout
    lock.release()
    again = PortLock("rfc2217://lab:4001", tmp_path)       # free once released
    again.release()


def test_a_second_lock_in_the_same_process_is_refused_too(tmp_path):
    lock = PortLock("/dev/ttyUSB0", tmp_path)
    with pytest.raises(HvmonError, match=r"port /dev/ttyUSB0 is in use"):
        PortLock("/dev/ttyUSB0", tmp_path)
    lock.release()
