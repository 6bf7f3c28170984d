"""~/.config/hvmon/config.toml: named boards, a default, aliases; errors name file and key."""

from __future__ import annotations

import pytest

from hvmon.errors import ConfigError
from hvmon.ui.cli import main
from hvmon.ui.commands import Context, GlobalOptions
from hvmon.ui.userconfig import config_path, history_path, load_user_config


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("HVMON_CONFIG", raising=False)
    monkeypatch.delenv("HVMON_PORT", raising=False)
    path = tmp_path / "hvmon" / "config.toml"
    path.parent.mkdir()
    return path


def test_paths_follow_xdg_config_home(config, tmp_path):
    assert config_path() == config
    assert history_path() == tmp_path / "hvmon" / "history"


def test_a_missing_file_is_an_empty_config(config):
    user = load_user_config()
    assert (user.boards, user.aliases, user.default) == ({}, {}, None)


def test_named_boards_default_and_aliases(config):
    config.write_text('default = "roc"\n'
                      '[boards.roc]\nport = "/dev/ttyUSB3"\nboard = "rk3588"\nbaud = 1500000\n'
                      '[boards.q]\nport = "socket://127.0.0.1:4444"\n'
                      '[aliases]\nup2 = "vm start linux + console linux"\n')
    user = load_user_config()
    assert user.default_board().port == "/dev/ttyUSB3"
    assert user.aliases["up2"] == ["vm", "start", "linux", "+", "console", "linux"]
    # No -p: the default board, with its profile and baud.
    ctx = Context(GlobalOptions(), user)
    assert (ctx.url(), ctx.profile().name, ctx.baud()) == ("/dev/ttyUSB3", "rk3588", 1500000)
    # -p NAME picks a named board; the board profile falls back to qemu-virt.
    ctx = Context(GlobalOptions(port="q"), user)
    assert (ctx.url(), ctx.profile().name) == ("socket://127.0.0.1:4444", "qemu-virt")
    # -p URL is used as it is, and -b beats the config.
    ctx = Context(GlobalOptions(port="loop://", board="rk3588"), user)
    assert (ctx.url(), ctx.profile().name) == ("loop://", "rk3588")


@pytest.mark.parametrize("text, error", [
    ('colour = "red"\n', r"config.toml: colour: unknown key"),
    ('[boards.roc]\nboard = "rk3588"\n', r"config.toml: boards.roc.port: missing"),
    ('[boards.roc]\nport = "/dev/ttyUSB0"\nspeed = 3\n', r"config.toml: boards.roc.speed: unknown key"),
    ('[boards.roc]\nport = "/dev/ttyUSB0"\nbaud = "fast"\n', r"config.toml: boards.roc.baud: must be a positive"),
    ('default = "nope"\n', r"config.toml: default: names no board in \[boards\]"),
    ('[aliases]\nx = 3\n', r"config.toml: aliases.x: must be a non-empty command line"),
    ('[aliases]\nx = "hvc \'echo"\n', r"config.toml: aliases.x: cannot split the command line"),
    ('boards = [', r"config.toml: "),
])
def test_mistakes_name_the_file_and_the_key(config, text, error):
    config.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_user_config()


def test_a_bad_config_is_one_line_and_exit_code_2(config, capsys):
    config.write_text('[boards.roc]\nport = 7\n')
    assert main(["devs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"hvmon: error: {config}: boards.roc.port: missing: a pyserial URL, a device or \"auto\""]


def test_an_alias_runs_from_the_command_line(config, capsys):
    config.write_text('[aliases]\nwhat = "help hvc"\n')
    assert main(["what"]) == 0
    assert capsys.readouterr().out.startswith("usage: hvc")
