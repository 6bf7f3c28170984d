"""Readable logs: stamped text lines per channel (hvmon.transport.textlog,
hvmon.target.channel_logs) and the user config keys that turn them on."""

from __future__ import annotations

import io
import re
import struct

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.channel_logs import ChannelLogs
from hvmon.transport.textlog import Clock, LineStamper, TextLog, tee
from hvmon.ui.terminal import LogAndStamp, console_echo
from hvmon.ui.userconfig import load_user_config

STAMP = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+ *\d+\.\d{3}\] "
SHORT = r"\[\d\d:\d\d:\d\d\.\d{3} \+\d+\.\d{3}\] "


def test_every_line_is_stamped_once_however_the_bytes_arrive(tmp_path):
    log = TextLog(tmp_path / "serial.log", Clock())
    for piece in (b"U-Bo", b"ot 2023\r\n=> ", "é".encode()[:1], "é".encode()[1:] + b"\r\n",
                  b"\x1b[6nprompt"):
        log.write(piece)
    log.note("framed mode")
    log.close()
    lines = (tmp_path / "serial.log").read_text().splitlines()
    assert [re.sub(STAMP, "", line) for line in lines] == \
        ["U-Boot 2023", "=> é", "prompt", "--- framed mode"]
    assert all(re.match(STAMP, line) for line in lines), lines


def test_the_screen_stamper_keeps_a_raw_terminals_line_ends():
    stamp = LineStamper(Clock(), short=True, keep_cr=True)
    out = stamp("a\r\nb") + stamp("c\r\n")
    assert re.fullmatch(f"{SHORT}a\r\n{SHORT}bc\r\n", out), out


def test_channel_logs_name_files_like_the_pytest_artifacts(tmp_path):
    logs = ChannelLogs(tmp_path / "run")
    logs.serial.write(b"=> booti\n")
    logs.name_console(0, "linux")
    logs.record(P.Channel.CONSOLE_BASE + 0, b"Linux version 6.1\n")
    logs.record(P.Channel.CONSOLE_BASE + 1, b"nameless\n")
    logs.record(P.Channel.LOG, b"vm 0 created\n")
    stopped = struct.pack("<BBH", P.Event.VM_STOPPED, 0, 0) + bytes(64)
    logs.record(P.Channel.EVENT, stopped)
    logs.switch(tmp_path / "next")                 # a test's folder: files start empty
    logs.record(P.Channel.LOG, b"later\n")
    logs.close()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "console-0-linux.log", "console-1.log", "events.log", "serial.log", "stub.log"]
    assert "Linux version 6.1" in (tmp_path / "run/console-0-linux.log").read_text()
    assert "--- VM 0 (linux) stopped:" in (tmp_path / "run/events.log").read_text()
    assert [p.name for p in (tmp_path / "next").iterdir()] == ["stub.log"]


def test_term_and_console_log_and_stamp_what_they_show():
    sink = io.BytesIO()
    transform = LogAndStamp(sink, LineStamper(Clock(), short=True, keep_cr=True))
    assert re.fullmatch(f"{SHORT}=> ", transform.rx("=> "))
    assert sink.getvalue() == b"=> "

    class FakeBoard:
        consoles = {3: bytearray(b"/ # ls\r\n")}
    out = io.BytesIO()
    console_echo(FakeBoard(), 3, out, LineStamper(Clock(), short=True, keep_cr=True))(3, b"")
    assert re.fullmatch(f"{SHORT}/ # ls\r\n".encode(), out.getvalue())
    assert tee(None, None) is None and tee(sink) is sink


def test_user_config_log_keys(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('log_dir = "~/hvmon-logs"\ntimestamps = true\n')
    config = load_user_config(path)
    assert config.log_dir.name == "hvmon-logs" and "~" not in str(config.log_dir)
    assert config.timestamps is True
    for text, key in (('log_dir = 3\n', "log_dir"), ('timestamps = "yes"\n', "timestamps")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {key}: "):
            load_user_config(path)
