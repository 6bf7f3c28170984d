"""The host side of snapshots without a board: tag checks, the `vm` command's new verbs
and how `vm info` shows a snapshot."""

from __future__ import annotations

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.vms import DEFAULT_TAG, Snapshot, check_tag
from hvmon.ui.commands.core import lookup
from hvmon.ui.commands.vm_cmds import DEFAULT_TAG as CLI_DEFAULT_TAG
from hvmon.ui.commands.vm_cmds import snapshot_json, snapshot_line


@pytest.mark.parametrize("tag", ["a", "booted", "v1.2_rc-3", "x" * P.SNAPSHOT_TAG])
def test_good_tags_pass(tag):
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", "x" * (P.SNAPSHOT_TAG + 1), "has space", "../up", "t\0g", "ünï"])
def test_bad_tags_are_one_clear_error(tag):
    with pytest.raises(ConfigError, match=r"snapshot tag .*: 1\.\.15 letters, digits"):
        check_tag(tag)


def test_the_vm_command_takes_snapshot_restore_and_drop():
    vm = lookup("vm")
    taken = vm.parse(["snapshot", "linux", "--as", "booted"])
    assert (taken.action, taken.target, taken.as_tag, taken.tag) == ("snapshot", "linux", "booted", None)
    back = vm.parse(["restore", "linux"])
    assert (back.action, back.target, back.tag) == ("restore", "linux", None)
    assert vm.parse(["drop", "linux", "booted"]).tag == "booted"
    assert CLI_DEFAULT_TAG == DEFAULT_TAG              # the CLI names the library's default
    assert vm.slot_kind(["restore"]) == "vm"           # the REPL completes VM names there


def test_vm_info_shows_a_snapshot_and_its_sizes():
    s = Snapshot(vm=0, tag="booted", seq=3, pa=0x6FFF0000, size=0x10010000, ram=0x10000000)
    assert snapshot_line(s) == ("  snapshot booted: 256.0 MiB of guest RAM, 256.1 MiB of board RAM "
                                "at PA 0x6fff0000")
    assert snapshot_json(s) == {"tag": "booted", "pa": 0x6FFF0000, "size": 0x10010000,
                                "ram": 0x10000000, "seq": 3}
