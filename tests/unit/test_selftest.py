"""The selftest's pieces without a board: where the scratch range goes, what U-Boot's
answers become, how optional stub fields are read, the report's structure and files, and
the command's one-line errors. The end-to-end run is tests/integration/test_selftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hvmon.bringup import selftest_checks as checks
from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.selftest import UBootFacts, uboot_lines
from hvmon.bringup.selftest_report import Line, Report
from hvmon import protocol as P
from hvmon.target.board import Range, StubError
from hvmon.target.uart_stats import parse_uart_stats
from hvmon.ui.cli import main

MiB = 1 << 20
RAM = (Range(0x40000000, 1024 * MiB, "ram"),)


def test_scratch_is_the_highest_free_aligned_stretch_of_ram():
    dtb = Range(0x7FFF0000, 0x2000, "boot-dtb")
    scratch = checks.pick_scratch(RAM, [Range(0x40200000, 3 * MiB, "stub"), dtb], MiB)
    assert scratch.end <= dtb.base and scratch.base % checks.ALIGN == 0
    assert scratch.base == (dtb.base - MiB) & ~(checks.ALIGN - 1)


def test_scratch_avoids_every_range_and_says_none_when_nothing_fits():
    guest = Range(0x40000000, 1024 * MiB - 2 * MiB, "guest")
    top = Range(0x7FF00000, MiB, "stub")
    scratch = checks.pick_scratch(RAM, [guest, top], MiB)
    assert scratch == Range(0x7FE00000, MiB, "scratch")
    assert checks.pick_scratch(RAM, [guest, top], 2 * MiB) is None


class FakeUBoot:
    def __init__(self, answers):
        self.answers = answers

    def run(self, command, step=None):
        return self.answers[command]


def facts_from(env_answers: dict[str, str]) -> UBootFacts:
    answers = {"version": "U-Boot 2023.01 (Jan 01 2023)\r\n\r\ngcc 12\r\n"}
    answers.update({f"printenv {k}": v for k, v in env_answers.items()})
    facts = UBootFacts()
    facts(FakeUBoot(answers))
    return facts


def test_uboot_environment_values_are_read_one_by_one_and_a_missing_one_is_not_set():
    facts = facts_from({"kernel_addr_r": "kernel_addr_r=0x40400000\r\n",
                        "fdt_addr_r": '## Error: "fdt_addr_r" not defined\r\n',
                        "fdtcontroladdr": "fdtcontroladdr=7edb6db0\r\n"})
    assert facts.env == {"kernel_addr_r": "0x40400000", "fdt_addr_r": None,
                         "fdtcontroladdr": "7edb6db0"}
    uboot, env = uboot_lines(facts, load_profile("qemu-virt"), "U-Boot 2023.01 (power on)\r\n")
    assert uboot.status == "pass" and uboot.summary.startswith("U-Boot 2023.01 (Jan 01 2023)")
    assert uboot.values["power_on_banner"] == "U-Boot 2023.01 (power on)"
    assert env.status == "pass" and "fdt_addr_r=(not set)" in env.summary


def test_a_variable_the_boot_command_needs_and_u_boot_lacks_fails_its_line():
    facts = facts_from({"kernel_addr_r": "kernel_addr_r=0x400000\r\n",
                        "fdt_addr_r": "fdt_addr_r=0x8300000\r\n",
                        "fdtcontroladdr": '## Error: "fdtcontroladdr" not defined\r\n'})
    _, env = uboot_lines(facts, load_profile("rk3588"), "")
    assert env.status == "fail" and "the boot command needs fdtcontroladdr" in env.summary


def info(protected=(), **optional):
    return SimpleNamespace(ram=RAM, protected=tuple(protected), **optional)


def test_load_address_compares_the_stub_range_with_the_profile_and_quotes_a_move():
    profile = load_profile("rk3588")
    moved = "== DO RELOCATE == Kernel from 0x00400000 to 0x00480000\r\nStarting kernel ...\r\n"
    line = checks.check_load_address(info([Range(0x480000, 0x60000, "stub")]), profile, moved)
    assert line.status == "pass" and "DO RELOCATE" in line.summary
    line = checks.check_load_address(info([Range(0x400000, 0x60000, "stub")]), profile, "")
    assert line.status == "fail" and "the profile says 0x480000" in line.summary
    assert checks.check_load_address(info(), profile, "").status == "fail"


def test_ram_map_reports_reserved_ranges_and_intids_only_where_the_stub_has_them():
    old = checks.check_ram_map(info([Range(0x40200000, MiB, "stub")]))
    assert old.values["reserved"] == checks.NOT_REPORTED and "not reported" in old.summary
    new = checks.check_ram_map(info([Range(0x40200000, MiB, "stub")],
                                    reserved=(Range(0x40000000, 0x100000, "bl31"),), gic_intids=256))
    assert new.values["reserved"] == [{"name": "bl31", "base": 0x40000000, "size": 0x100000}]
    assert new.values["gic_intids"] == 256 and "bl31" in new.summary and "GIC INTIDs 0-255" in new.summary


class FakeBoard:
    """UART_STATS as a stub of protocol 4 answers it (fields, driver name), or refused as
    an older stub refuses a command it does not know."""

    def __init__(self, fields=None, driver=b"16550\0"):
        self.fields, self.driver = fields, driver

    def uart_stats(self):
        if self.fields is None:
            raise StubError("UART_STATS", P.Status.UNKNOWN_COMMAND, "unknown command")
        return parse_uart_stats(self.fields, self.driver)

    def info(self):
        return SimpleNamespace(protocol_version=3)


#               rx, tx, overruns, framing, parity, breaks, ring, depth, source
CLEAN = (70_000, 300_000, 0, 0, 0, 0, 0, 16, P.UartDepthSource.PROFILE)


def test_uart_fifo_reports_depth_and_counters_and_fails_only_on_bytes_the_stub_lost():
    line = checks.check_uart_fifo(FakeBoard())
    assert line.status == "not reported" and "not reported by this stub" in line.summary
    line = checks.check_uart_fifo(FakeBoard(CLEAN))
    assert line.status == "pass"
    assert line.summary.startswith("16550, depth 16 (the board profile); after every check: "
                                   "70000 bytes in, 300000 out; 0 overruns")
    assert line.values["fifo_depth"] == 16 and line.values["depth_source"] == "the board profile"
    assert line.values["rx_bytes"] == 70_000 and line.values["overruns"] == 0
    noisy = CLEAN[:3] + (2, 1, 1) + CLEAN[6:]          # the cable's errors: repaired, shown
    line = checks.check_uart_fifo(FakeBoard(noisy))
    assert line.status == "pass" and "2 framing, 1 parity, 1 breaks" in line.summary
    overrun = CLEAN[:2] + (3,) + CLEAN[3:]
    assert checks.check_uart_fifo(FakeBoard(overrun)).status == "fail"
    ring = CLEAN[:6] + (40,) + CLEAN[7:]
    assert checks.check_uart_fifo(FakeBoard(ring)).status == "fail"
    register = CLEAN[:7] + (64, P.UartDepthSource.REGISTER)
    assert "depth 64 (read from the UART)" in checks.check_uart_fifo(FakeBoard(register)).summary


def test_report_passes_only_without_failed_lines_and_names_them():
    report = Report("qemu-virt", "socket://x")
    assert not report.passed
    report.add(Line("timer", "pass", "62.5 MHz", {"cntfrq": 62500000}, seconds=1.0))
    report.add(Line("UART FIFO", "not reported", "not reported by this stub"))
    assert report.passed and "PASS" in report.markdown()
    report.add(Line("Linux guest", "fail", "StepTimeout: no shell", details="[ 1.0] boot"))
    markdown = report.markdown()
    assert not report.passed and report.as_dict()["failed"] == ["Linux guest"]
    assert "**FAIL: Linux guest**" in markdown
    assert "| Linux guest | fail | StepTimeout: no shell | 0.00 |" in markdown
    assert "## Linux guest\n\n```\n[ 1.0] boot\n```" in markdown
    with pytest.raises(ValueError, match="status"):
        Line("timer", "ok", "")


def test_report_is_saved_as_markdown_and_json(tmp_path):
    report = Report("qemu-virt", "socket://x")
    report.add(Line("timer", "pass", "a | b", {"cntfrq": 1}))
    md, js = report.save(tmp_path / "selftest")
    assert md.read_text() == report.markdown() and "a \\| b" in md.read_text()
    assert json.loads(js.read_text())["lines"][0]["values"] == {"cntfrq": 1}


@pytest.mark.parametrize("argv, message", [
    (["--transfer", "2M"], "larger than --scratch"),
    (["--scratch", "3"], "positive multiple of 4"),
    (["--transfer", "lots"], "bad number 'lots' for --transfer"),
    (["--guest", "no-such.toml"], "no such file no-such.toml"),
])
def test_bad_selftest_options_are_one_line_and_exit_code_2(argv, message, capsys, monkeypatch,
                                                           tmp_path):
    monkeypatch.delenv("HVMON_PORT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["selftest", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not Path("results").exists()


def test_a_board_without_qemu_needs_a_port(capsys, monkeypatch):
    monkeypatch.delenv("HVMON_PORT", raising=False)
    assert main(["-b", "rk3588", "selftest"]) == 2
    assert "has no [qemu] section; give -p PORT" in capsys.readouterr().err


def test_each_unverified_fact_of_the_rk3588_readme_names_the_selftest_line_that_settles_it():
    text = (Path(__file__).resolve().parents[2] / "boards" / "rk3588" / "README.md").read_text()
    names = {"U-Boot", "U-Boot environment", "bring-up", "load address", "RAM map", "UART FIFO",
             "timer", "RAM pattern test", "goodput host→board", "goodput board→host", "inflate",
             "LZMA2", "Linux guest", "link counters"}
    # A fact is a paragraph, a table row or a list item; the status line and the legend are not.
    blocks = [b for para in text.split("\n\n") for row in para.split("\n| ")
              for b in row.split("\n- ")]
    facts = [b for b in blocks if "unverified" in b.lower()
             and "Status: unverified" not in b and "turn \"unverified\"" not in b]
    assert len(facts) >= 8
    for fact in facts:
        named = {n for n in names if f"*{n}*" in fact}
        assert "selftest line" in fact.lower() and named, fact[:200]
