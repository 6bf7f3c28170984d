"""Plans for `hvmon up`: read and checked whole before anything is done; every mistake
names the plan file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvmon.bringup.plan import PlanError, fingerprint, load_plan
from hvmon.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "boards" / "qemu-virt" / "linux.toml"


def test_the_demo_plan():
    plan = load_plan(REPO / "boards" / "qemu-virt" / "demo.toml")
    assert (plan.board, plan.port, plan.reach, plan.console) == ("qemu-virt", None, "uboot", "linux")
    assert plan.qemu.preload and plan.qemu.smp == 2
    [vm] = plan.vms
    assert (vm.config, vm.name, vm.start, vm.wait_for, vm.timeout) == (LINUX, "linux", True, "/ # ", 120.0)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


VM = f'[[vm]]\nconfig = "{LINUX}"\n'


@pytest.mark.parametrize("text, error", [
    ('reach = "uboot"\n', r"plan.toml: board: missing"),
    ('board = "qemu-virt"\nreach = "telepathy"\n', r"plan.toml: reach: must be one of running, uboot"),
    ('board = "qemu-virt"\nflavour = 1\n', r"plan.toml: flavour: unknown key"),
    ('board = "qemu-virt"\nport = 3\n', r"plan.toml: port: must be"),
    ('board = "qemu-virt"\n[qemu]\nsmp = 0\n', r"plan.toml: qemu.smp: must be an integer >= 1"),
    ('board = "qemu-virt"\n[qemu]\ncores = 2\n', r"plan.toml: qemu.cores: unknown key"),
    ('board = "qemu-virt"\n[[vm]]\nstart = true\n', r"plan.toml: vm\[0\].config: missing"),
    ('board = "qemu-virt"\n[[vm]]\nconfig = "nope.toml"\n', r"plan.toml: vm\[0\].config: no such file"),
    ('board = "qemu-virt"\n' + VM + 'wait_for = "(["\n', r"plan.toml: vm\[0\].wait_for: bad regular expression"),
    ('board = "qemu-virt"\n' + VM + 'timeout = -1\n', r"plan.toml: vm\[0\].timeout: must be a positive"),
    ('board = "qemu-virt"\n' + VM + 'start = false\nwait_for = "x"\n', r"plan.toml: vm\[0\].wait_for: needs start = true"),
    ('board = "qemu-virt"\n' + VM + VM, r"plan.toml: vm\[1\].config: a second VM named 'linux'"),
    ('board = "qemu-virt"\nconsole = "linux"\n', r"plan.toml: console: names no VM of this plan"),
    ('board = "qemu-virt"\n[[vm]\n', r"plan.toml: "),
])
def test_mistakes_name_the_file_and_key(tmp_path, text, error):
    with pytest.raises(PlanError, match=error):
        load_plan(write(tmp_path, text))


def test_a_plan_error_is_a_config_error_with_exit_code_2(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_plan(tmp_path / "missing.toml")
    assert err.value.exit_code == 2 and "missing.toml" in str(err.value)


def test_a_broken_vm_config_is_reported_with_its_own_file(tmp_path):
    vm = tmp_path / "guest.toml"
    vm.write_text('name = "Bad Name"\nmemory = []\nkernel = "x"\n')
    with pytest.raises(ConfigError, match=r"guest.toml: name: 1-15 characters"):
        load_plan(write(tmp_path, 'board = "qemu-virt"\n[[vm]]\nconfig = "guest.toml"\n'))


def test_configs_are_relative_to_the_plan_and_fingerprints_follow_content(tmp_path):
    kernel = tmp_path / "Image"
    kernel.write_bytes(b"\0" * 0x38 + b"ARM\x64" + b"\0" * 64)
    vm = tmp_path / "guest.toml"
    vm.write_text('name = "g"\nmemory = [{ ipa = 0x40000000, size = 0x1000000 }]\nkernel = "Image"\n')
    plan = load_plan(write(tmp_path, 'board = "qemu-virt"\n[[vm]]\nconfig = "guest.toml"\n'))
    assert plan.vms[0].config == vm.resolve()
    before = fingerprint(vm)
    assert fingerprint(vm) == before
    kernel.write_bytes(kernel.read_bytes() + b"\1")          # a rebuilt kernel is a change
    assert fingerprint(vm) != before


@pytest.mark.parametrize("text, url, error", [
    # --stub-port names the stub's line only: U-Boot's line must be known as well.
    ('board = "qemu-virt-16550"\n', None, r"plan.toml: port: missing: --stub-port needs U-Boot's line"),
    # Powering on is followed on U-Boot's line alone today: refused before the board is touched.
    ('board = "qemu-virt-16550"\nreach = "off"\n', "loop://",
     r"plan.toml: reach: \"off\" with the stub on a line of its own \(--stub-port\) is not supported"),
])
def test_a_stub_line_of_its_own_is_refused_where_up_cannot_use_it(tmp_path, text, url, error):
    from hvmon.bringup.plan import reach_board
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(PlanError, match=error):
        reach_board(plan, url, log=lambda *_: None, stub_url="socket://127.0.0.1:1")
