"""`vm check` and `up --dry-run`: no board, no port; exit codes as README's table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hvmon.ui.cli import main

REPO = Path(__file__).resolve().parents[2]
ROCK_5B = REPO / "cache" / "guest" / "rockchip" / "rk3588-rock-5b.dtb"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "Image").write_bytes(bytes.fromhex("00000014") + bytes(0x34) + b"ARM\x64" + bytes(0x1000))
    (tmp_path / "initrd").write_bytes(b"x" * 5000)
    return tmp_path


def config(folder: Path, extra: str = "", name: str = "vm.toml") -> Path:
    path = folder / name
    path.write_text('name = "g"\ncpus = [1]\nmemory = [{ ipa = 0x40000000, size = 0x4000000 }]\n'
                    'kernel = "Image"\ninitrd = "initrd"\n' + extra)
    return path


def test_vm_check_cuts_a_guest_dtb_from_an_rk3588_dtb_without_a_board(files, capsys):
    out = files / "guest.dtb"
    code = main(["--json", "vm", "check", str(config(files, "console = { ipa = 0xfeb50000, irq = 65 }\n")),
                 "--board", "rk3588", "--board-dtb", str(ROCK_5B), "-o", str(out)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["board"] == "rk3588" and result["dtc_warnings"] == []
    assert result["gic"] == {"distributor": 0xFE600000, "redistributor": 0xFE680000}
    assert result["cpus_from"] == ["/cpus/cpu@100"]
    dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(out)], capture_output=True, text=True)
    assert dts.stderr == "" and 'compatible = "arm,pl011\\0arm,primecell"' in dts.stdout


def test_vm_check_on_the_qemu_board_uses_qemus_own_dtb(files, capsys):
    assert main(["vm", "check", str(config(files)), "--board", "qemu-virt"]) == 0
    text = capsys.readouterr().out
    assert "dtb     cut from QEMU's DTB for qemu-virt" in text
    assert "gic     distributor 0x8000000, redistributors 0x80a0000" in text


def test_vm_check_of_a_bad_config_is_one_line_naming_file_and_key(files, capsys):
    bad = config(files, "console = { irq = 7 }\n", "bad.toml")
    assert main(["vm", "check", str(bad), "--board", "rk3588", "--board-dtb", str(ROCK_5B)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml: console.irq: must be an integer >= 32" in err[0]


def test_vm_check_without_a_board_dtb_on_a_board_without_qemu_says_what_to_give(files, capsys):
    assert main(["vm", "check", str(config(files)), "--board", "rk3588"]) == 2
    assert "give --board-dtb FILE" in capsys.readouterr().err


def test_vm_check_of_a_file_that_is_no_dtb_names_it(files, capsys):
    assert main(["vm", "check", str(config(files)), "--board", "rk3588",
                 "--board-dtb", str(files / "initrd")]) == 2
    assert f"{files / 'initrd'}: not a valid DTB" in capsys.readouterr().err


def test_up_dry_run_prints_every_step_and_opens_no_port(files, capsys, monkeypatch):
    import hvmon.transport.link as link
    monkeypatch.setattr(link, "open_link", lambda *a, **k: pytest.fail("a port was opened"))
    plan = files / "plan.toml"
    config(files, 'cmdline = "console=ttyAMA0"\n', "g.toml")
    plan.write_text('board = "qemu-virt"\nconsole = "g"\n[[vm]]\nconfig = "g.toml"\nwait_for = "/ # "\n')
    assert main(["up", str(plan), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" 1. start QEMU: -M virt")
    assert "U-Boot loady" in lines[1] and "YMODEM" in lines[1]
    assert lines[2].startswith(" 3. g: config") and "cut from QEMU's DTB" in lines[2]
    assert " 4. g: kernel at 0x40000000: 4156 bytes -> " in lines[3] and "(deflate)" in lines[3]
    assert "5000 bytes" in lines[4] and "6. g: dtb" in lines[5]
    assert lines[6] == " 7. g: start, wait for '/ # ' (up to 60 s)"
    assert lines[7] == " 8. attach the terminal to g's console"
    assert lines[-1].startswith("line time at least")


def test_up_dry_run_json_sizes_each_push_at_the_profile_line_rate(files, capsys):
    plan = files / "plan.toml"
    config(files, "", "g.toml")
    plan.write_text('board = "qemu-virt"\nport = "socket://127.0.0.1:9"\n[[vm]]\nconfig = "g.toml"\n')
    assert main(["--json", "up", str(plan), "--dry-run"]) == 0
    result = json.loads(capsys.readouterr().out)
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["open the line"] == {"step": "open the line", "port": "socket://127.0.0.1:9", "baud": 115200}
    pushes = [s for s in result["steps"] if s["step"] == "push"]
    assert [p["image"] for p in pushes] == ["kernel", "initrd", "dtb"]
    for p in pushes:
        assert p["compressed"] <= p["raw"] and p["seconds"] == round(p["sent"] / 11520, 2)


def test_up_dry_run_of_a_bad_plan_is_exit_2(files, capsys):
    plan = files / "plan.toml"
    plan.write_text('board = "qemu-virt"\n[[vm]]\nconfig = "missing.toml"\n')
    assert main(["up", str(plan), "--dry-run"]) == 2
    assert "plan.toml: vm[0].config: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["migrate", "linux"], "the following arguments are required: --to"),
    (["-p", "socket://127.0.0.1:9", "migrate", "linux", "--to", "socket://127.0.0.1:9"],
     "is the board the VM runs on"),
    (["migrate", "linux", "--to", "socket://127.0.0.1:9", "--rounds", "0"], "--rounds 0: at least 1"),
])
def test_migrate_is_refused_in_one_line_before_any_line_opens(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
