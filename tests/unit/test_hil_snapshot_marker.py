"""The hvmon_snapshot marker's keywords: defaults, a VM file or dict, and one line naming
what is wrong (the snapshot fixture fails the test with it, before any board is touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvmon.hil.snapshots import DEFAULT_PATTERN, DEFAULT_TAG, DEFAULT_TIMEOUT, spec_from_marker
from tests.unit.test_hil_options import pytest_run

DEFAULT_VM = Path("/boards/qemu-virt/linux.toml")
BASE = Path("/suite")


def test_without_keywords_it_is_the_console_guest_at_the_shell_prompt():
    spec = spec_from_marker({}, DEFAULT_VM, BASE)
    assert (spec.config, spec.pattern, spec.tag, spec.timeout) == \
        (DEFAULT_VM, DEFAULT_PATTERN, DEFAULT_TAG, DEFAULT_TIMEOUT)
    assert DEFAULT_PATTERN == r"/ # "


def test_a_vm_file_is_taken_from_the_rootdir_and_a_dict_as_it_is():
    spec = spec_from_marker({"vm": "guests/rt.toml", "pattern": "login:", "tag": "login",
                             "timeout": 20}, DEFAULT_VM, BASE)
    assert (spec.config, spec.pattern, spec.tag, spec.timeout) == \
        (BASE / "guests/rt.toml", "login:", "login", 20.0)
    keys = {"name": "tiny", "kernel": "cache/guest/Image"}
    assert spec_from_marker({"vm": keys}, None, BASE).config == keys


@pytest.mark.parametrize("kwargs, default_vm, error", [
    ({"patern": "x"}, DEFAULT_VM, "hvmon_snapshot: unknown keyword(s) ['patern']; known: "
                                  "pattern, tag, vm, timeout"),
    ({}, None, "hvmon_snapshot: no guest to boot: give vm="),
    ({"pattern": ""}, DEFAULT_VM, "hvmon_snapshot: pattern must be a non-empty regular "
                                  "expression string, not ''"),
    ({"pattern": b"/ # "}, DEFAULT_VM, "not b'/ # '"),
    ({"timeout": 0}, DEFAULT_VM, "hvmon_snapshot: timeout must be a positive number of "
                                 "seconds, not 0"),
])
def test_a_wrong_keyword_is_named(kwargs, default_vm, error):
    with pytest.raises(ValueError) as raised:
        spec_from_marker(kwargs, default_vm, BASE)
    assert error in str(raised.value)


def test_the_marker_is_registered(tmp_path):
    markers = pytest_run(tmp_path, "--markers").stdout
    assert "@pytest.mark.hvmon_snapshot(pattern=r'/ # ', tag='hil', vm=None, timeout=90)" in markers
