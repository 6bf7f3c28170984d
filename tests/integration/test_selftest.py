"""`hvmon selftest` on the QEMU board, started by the selftest itself (no -p): one
bring-up, one Linux guest boot, and the bytes its checks move. The report's times are
for people; the test checks that every line is there, was measured, and passed."""

from __future__ import annotations

import json

import pytest

from hvmon.ui.cli import main
from tests.budget import doing

TRANSFER = 128 << 10          # each way, for the goodput lines
STUB = 60 << 10               # the stub through loady
STAGED = 2 * (100 << 10)      # one compressed block per codec, staged once
EXPECTED = ["U-Boot", "U-Boot environment", "bring-up", "load address", "RAM map", "UART FIFO",
            "timer", "RAM pattern test", "goodput host→board", "goodput board→host", "inflate",
            "LZMA2", "Linux guest", "link counters"]
MEASURED = {"bring-up", "timer", "RAM pattern test", "goodput host→board",
            "goodput board→host", "inflate", "LZMA2", "Linux guest"}

pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=1, boots=1, line_bytes=STUB + 2 * TRANSFER + STAGED)]


def test_selftest_passes_on_the_qemu_board_and_saves_its_report(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HVMON_PORT", raising=False)
    doing("hvmon selftest: QEMU board, bring-up, checks, Linux guest")
    code = main(["-b", "qemu-virt", "selftest", "--transfer", f"{TRANSFER}", "-o", str(tmp_path)])
    printed = capsys.readouterr().out
    reports = sorted(tmp_path.glob("qemu-virt-*.json"))
    assert len(reports) == 1 and len(list(tmp_path.glob("qemu-virt-*.md"))) == 1
    report = json.loads(reports[0].read_text())
    assert code == 0, f"failed lines: {report['failed']}\n{printed}"
    assert report["passed"] and report["failed"] == []
    lines = {line["name"]: line for line in report["lines"]}
    assert [line["name"] for line in report["lines"]] == EXPECTED
    for name in MEASURED:
        assert lines[name]["status"] == "pass" and lines[name]["seconds"] > 0, lines[name]
    assert lines["UART FIFO"]["status"] in ("pass", "not reported")
    assert lines["U-Boot environment"]["values"]["fdtcontroladdr"]
    assert lines["load address"]["values"]["found"] == 0x40200000
    assert lines["goodput host→board"]["values"]["bytes"] == TRANSFER
    assert lines["inflate"]["values"]["ms_per_mib"] > 0
    assert lines["Linux guest"]["values"]["dtb_cut"] is True
    assert printed.startswith("# hvmon selftest: qemu-virt")
    assert "| Linux guest | pass |" in printed
