"""The [power] section of board profiles and the commands the HIL plugin runs with it."""

from __future__ import annotations

import pytest

from hvmon.bringup.board_profile import boards_dir, load_profile
from hvmon.errors import ConfigError, HvmonError
from hvmon.hil.power import has_power_control, press_reset

QEMU_PROFILE = (boards_dir() / "qemu-virt" / "board.toml").read_text()


def profile_with(tmp_path, power: str):
    path = tmp_path / "board.toml"
    path.write_text(QEMU_PROFILE + "\n" + power)
    return load_profile(path)


def test_boards_without_power_have_no_power_control():
    profile = load_profile("qemu-virt")
    assert profile.power.reset is None and profile.power.power_cycle is None
    assert not has_power_control(profile)


def test_power_commands_are_parsed(tmp_path):
    profile = profile_with(tmp_path, '[power]\nreset = "relay-ctl 3 pulse"\n'
                                     'power_cycle = "uhubctl -a cycle -p 2"\ntimeout = 12\n')
    assert profile.power.reset == "relay-ctl 3 pulse"
    assert profile.power.power_cycle == "uhubctl -a cycle -p 2"
    assert profile.power.timeout == 12.0
    assert has_power_control(profile)


@pytest.mark.parametrize("power, error", [
    ('[power]\nrest = "x"\n', r"board.toml: \[power\] unknown key 'rest'"),
    ('[power]\nreset = 3\n', r"board.toml: \[power\] reset must be a non-empty shell command"),
    ('[power]\npower_cycle = "  "\n', r"\[power\] power_cycle must be a non-empty shell command"),
    ('[power]\nreset = "x"\ntimeout = 0\n', r"\[power\] timeout must be a positive number"),
    ('power = "x"\n', r"board.toml: power must be a section \[power\]"),
])
def test_bad_power_sections_name_file_and_key(tmp_path, power, error):
    if not power.startswith("["):          # a top-level key: must come before the sections
        path = tmp_path / "board.toml"
        path.write_text(power + QEMU_PROFILE)
        with pytest.raises(ConfigError, match=error):
            load_profile(path)
        return
    with pytest.raises(ConfigError, match=error):
        profile_with(tmp_path, power)


def test_reset_runs_the_command_with_board_and_port(tmp_path):
    mark = tmp_path / "pressed"
    profile = profile_with(tmp_path, f'[power]\nreset = "echo $HVMON_BOARD $HVMON_PORT > {mark}"\n')
    said = []
    assert press_reset(profile, "rfc2217://lab:4001", said.append) == "reset"
    assert mark.read_text().split() == ["qemu-virt", "rfc2217://lab:4001"]
    assert said == [f"[power] reset: echo $HVMON_BOARD $HVMON_PORT > {mark}"]


def test_power_cycle_is_used_when_there_is_no_reset(tmp_path):
    mark = tmp_path / "cycled"
    profile = profile_with(tmp_path, f'[power]\npower_cycle = "touch {mark}"\n')
    assert press_reset(profile, "/dev/ttyUSB0") == "power_cycle"
    assert mark.exists()


def test_a_failing_command_is_one_line_naming_the_profile(tmp_path):
    profile = profile_with(tmp_path, '[power]\nreset = "echo relay 3 not found >&2; exit 7"\n')
    with pytest.raises(HvmonError, match=r"board.toml: \[power\] reset exited with 7: "
                                         r"relay 3 not found"):
        press_reset(profile, "/dev/ttyUSB0")


def test_a_hanging_command_times_out(tmp_path):
    profile = profile_with(tmp_path, '[power]\nreset = "sleep 5"\ntimeout = 0.3\n')
    with pytest.raises(HvmonError, match=r"\[power\] reset did not finish within 0.3 s"):
        press_reset(profile, "/dev/ttyUSB0")


def test_power_verbs_map_to_the_commands_a_profile_has(tmp_path):
    from hvmon.bringup.power import steps_for
    both = profile_with(tmp_path, '[power]\non = "relay on"\noff = "relay off"\n')
    assert steps_for(both, "on") == ["on"] and steps_for(both, "off") == ["off"]
    assert steps_for(both, "cycle") == ["off", "on"] and steps_for(both, "reset") == ["off", "on"]
    assert has_power_control(both)
    full = profile_with(tmp_path, '[power]\non = "a"\noff = "b"\npower_cycle = "c"\nreset = "d"\n')
    assert steps_for(full, "cycle") == ["power_cycle"] and steps_for(full, "reset") == ["reset"]
    only_reset = profile_with(tmp_path, '[power]\nreset = "d"\n')
    with pytest.raises(ConfigError, match=r"board.toml: \[power\] has no on command"):
        steps_for(only_reset, "on")
    with pytest.raises(ConfigError, match=r"\[power\] has no command to cycle the board "
                                          r"\(needs power_cycle, or on and off\)"):
        steps_for(only_reset, "cycle")


def test_hvmon_power_runs_the_commands_and_names_what_is_missing(tmp_path, capsys):
    from hvmon.ui.cli import main
    mark = tmp_path / "ran"
    profile = profile_with(tmp_path, f'[power]\non = "echo on $HVMON_BOARD >> {mark}"\n'
                                     f'off = "echo off >> {mark}"\n')
    assert main(["-b", str(profile.path), "power", "cycle"]) == 0
    assert mark.read_text().split() == ["off", "on", "qemu-virt"]
    assert "power cycle: qemu-virt (off + on)" in capsys.readouterr().out
    bare = tmp_path / "bare" / "board.toml"
    bare.parent.mkdir()
    bare.write_text(QEMU_PROFILE)
    assert main(["-b", str(bare), "power", "on"]) == 2
    assert f"hvmon: error: {bare}: [power] has no on command" in capsys.readouterr().err
