"""`hvmon selftest` on the run's QEMU board (--hvmon-board), started by the selftest
itself (no -p): one bring-up, one Linux guest boot, and the bytes its checks move. The
report's times are for people; the test checks that every line is there, was measured,
and passed. tests/integration/test_selftest_16550.py runs the same on qemu-virt-16550
in `make test`."""

from __future__ import annotations

import json

import pytest

from hvmon.ui.cli import main
from tests.budget import doing
from tests.conftest import run_profile

TRANSFER = 128 << 10          # each way, for the goodput lines
STUB = 60 << 10               # the stub through loady
STAGED = 2 * (100 << 10)      # one compressed block per codec, staged once
EXPECTED = ["U-Boot", "U-Boot environment", "bring-up", "load address", "RAM map", "timer",
            "RAM pattern test", "goodput host→board", "goodput board→host", "inflate", "LZMA2",
            "Linux guest", "UART FIFO", "link counters"]
MEASURED = {"bring-up", "timer", "RAM pattern test", "goodput host→board",
            "goodput board→host", "inflate", "LZMA2", "Linux guest"}
BUDGET = pytest.mark.budget(bringups=1, boots=1, line_bytes=STUB + 2 * TRANSFER + STAGED)

pytestmark = [pytest.mark.qemu, BUDGET]


def check_selftest_on(board: str, driver: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("HVMON_PORT", raising=False)
    doing(f"hvmon selftest: {board}, bring-up, checks, Linux guest")
    code = main(["-b", board, "selftest", "--transfer", f"{TRANSFER}", "-o", str(tmp_path)])
    printed = capsys.readouterr().out
    reports = sorted(tmp_path.glob(f"{board}-2*.json"))
    assert len(reports) == 1 and len(list(tmp_path.glob(f"{board}-2*.md"))) == 1
    report = json.loads(reports[0].read_text())
    assert code == 0, f"failed lines: {report['failed']}\n{printed}"
    assert report["passed"] and report["failed"] == []
    lines = {line["name"]: line for line in report["lines"]}
    assert [line["name"] for line in report["lines"]] == EXPECTED
    for name in MEASURED:
        assert lines[name]["status"] == "pass" and lines[name]["seconds"] > 0, lines[name]
    assert lines["U-Boot environment"]["values"]["fdtcontroladdr"]
    assert lines["load address"]["values"]["found"] == 0x40200000
    assert lines["goodput host→board"]["values"]["bytes"] == TRANSFER
    assert lines["inflate"]["values"]["ms_per_mib"] > 0
    assert lines["Linux guest"]["values"]["dtb_cut"] is True
    # The UART line, read after every other check: the depth in use and counters that
    # cover the goodput transfers and the guest's console, with nothing lost.
    uart = lines["UART FIFO"]
    assert uart["status"] == "pass", uart
    assert (uart["values"]["driver"], uart["values"]["fifo_depth"]) == (driver, 16)
    assert uart["values"]["rx_bytes"] >= TRANSFER and uart["values"]["tx_bytes"] >= TRANSFER
    assert uart["values"]["overruns"] == 0 and uart["values"]["rx_ring_overruns"] == 0
    assert printed.startswith(f"# hvmon selftest: {board}\n")
    assert "| Linux guest | pass |" in printed
    assert f"| UART FIFO | pass | {driver}, depth 16 (" in printed


def test_selftest_passes_on_the_qemu_board_and_saves_its_report(request, tmp_path, monkeypatch,
                                                                capsys):
    profile = run_profile(request)
    check_selftest_on(profile.name, profile.firmware["uart"], tmp_path, monkeypatch, capsys)
