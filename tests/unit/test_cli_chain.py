"""The command line's own parsing: `+` chains, aliases, numbers, one-line usage errors.
Nothing here needs a board: every mistake is caught before the line is opened."""

from __future__ import annotations

import json

import pytest

from hvmon.errors import ConfigError
from hvmon.ui.cli import main
from hvmon.ui.commands import expand_aliases, lookup, number, split_chain


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HVMON_CONFIG", raising=False)
    monkeypatch.delenv("HVMON_PORT", raising=False)


def test_plus_splits_the_command_line_into_commands():
    argv = "load Image 0x40400000 + vm start linux + console linux".split()
    assert split_chain(argv) == [["load", "Image", "0x40400000"], ["vm", "start", "linux"],
                                 ["console", "linux"]]
    assert split_chain(["info"]) == [["info"]]
    assert split_chain([]) == []


@pytest.mark.parametrize("argv", [["+", "info"], ["info", "+"], ["info", "+", "+", "info"]])
def test_an_empty_command_in_a_chain_is_an_error(argv):
    with pytest.raises(ConfigError, match=r"empty command in the chain"):
        split_chain(argv)


def test_aliases_expand_to_their_own_chain_and_take_extra_words():
    aliases = {"boot": ["vm", "start", "linux", "+", "console"]}
    assert expand_aliases([["boot", "linux"], ["info"]], aliases) == \
        [["vm", "start", "linux"], ["console", "linux"], ["info"]]
    # A command's own name is never shadowed by an alias.
    assert expand_aliases([["info"]], {"info": ["hvc", "version"]}) == [["info"]]


@pytest.mark.parametrize("text, value", [("0x48000000", 0x48000000), ("4096", 4096),
                                         ("64K", 65536), ("2m", 2 << 20), ("0b101", 5)])
def test_numbers(text, value):
    assert number(text, "ADDR") == value


def test_a_bad_number_names_itself_and_the_argument():
    with pytest.raises(ConfigError, match=r"^bad number '0x4800zz' for ADDR$"):
        number("0x4800zz", "ADDR")


def test_unknown_command_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown command 'frob' \(commands: .*hvc.*\)"):
        lookup("frob")
    with pytest.raises(ConfigError, match=r"qemu: not available inside the REPL"):
        lookup("qemu", interactive=True)      # the REPL does not start boards


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_unknown_command_is_one_line_and_exit_code_2(capsys):
    assert main(["frob"]) == 2
    assert one_line(capsys).startswith("hvmon: error: unknown command 'frob' (commands: ")


def test_bad_number_is_one_line_and_exit_code_2_before_any_connection(capsys):
    assert main(["read", "0x4800zz", "16"]) == 2
    assert one_line(capsys) == "hvmon: error: bad number '0x4800zz' for ADDR"


def test_a_missing_argument_is_one_line(capsys):
    assert main(["hvc"]) == 2
    assert one_line(capsys).startswith("hvmon: error: hvc: the following arguments are required: name")
    assert main(["--baud", "fast", "info"]) == 2
    assert "argument --baud: invalid int value: 'fast'" in one_line(capsys)


def test_the_whole_chain_is_parsed_before_the_first_command_runs(capsys):
    # `hvc version` would need a port; the typo after it is reported first.
    assert main(["hvc", "version", "+", "vm", "explode", "x"]) == 2
    assert "vm: argument action: invalid choice: 'explode'" in one_line(capsys)


def test_no_command_and_no_port_is_a_usage_error(capsys):
    assert main([]) == 2
    assert one_line(capsys).startswith("hvmon: error: no command, and no port for the REPL")


def test_a_command_that_needs_the_board_without_a_port(capsys):
    assert main(["info"]) == 2
    assert one_line(capsys).startswith("hvmon: error: no port: give -p PORT")


def test_help_for_one_command(capsys):
    assert main(["help", "hvc"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hvc [-h] name [args ...]") and "protocol/hvmon.toml" in out.replace("\n", " ")
    assert main(["hvc", "--help"]) == 0


def test_devs_as_json_is_a_list_of_ports(capsys):
    assert main(["--json", "devs"]) == 0
    ports = json.loads(capsys.readouterr().out)
    assert isinstance(ports, list)
    for port in ports:
        assert set(port) == {"device", "vid_pid", "description", "manufacturer", "serial_number"}


def test_the_repl_command_runs_the_prompt_the_cli_gave_its_context(monkeypatch):
    import hvmon.ui.cli as cli
    started = []
    monkeypatch.setattr(cli, "run_repl", lambda ctx: started.append(ctx) or 0)
    assert main(["-p", "loop://", "repl"]) == 0
    assert len(started) == 1


def test_a_context_without_a_prompt_says_so():
    from hvmon.ui.commands import Context, GlobalOptions
    with pytest.raises(ConfigError, match="no interactive prompt"):
        Context(GlobalOptions()).run_prompt()
