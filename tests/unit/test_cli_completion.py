"""What Tab offers in the REPL: commands, hypercall names, VM names, file paths."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from hvmon.ui.commands import Context, GlobalOptions
from hvmon.ui.repl import HvmonCompleter


@pytest.fixture
def completer(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "hvmon").mkdir(parents=True)
    (tmp_path / "config" / "hvmon" / "config.toml").write_text('[aliases]\nhello = "hvc echo 1"\n')
    c = HvmonCompleter(Context(GlobalOptions()))
    c.vm_names = ["linux", "crasher"]
    return c


def offered(completer, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent())]


def test_command_names_and_aliases(completer):
    assert offered(completer, "hv") == ["hvc "]
    assert offered(completer, "he") == ["hello ", "help "]
    assert "qemu " not in offered(completer, "")            # not offered inside the REPL


def test_hypercall_names_from_the_protocol(completer):
    assert offered(completer, "hvc ec") == ["echo "]
    assert offered(completer, "hvc vm_s") == ["vm_self ", "vm_state ", "vm_stop "]


def test_vm_names_and_actions(completer):
    assert offered(completer, "vm st") == ["start ", "stop "]
    assert offered(completer, "vm start l") == ["linux "]
    assert offered(completer, "console c") == ["crasher "]
    assert offered(completer, "info + console ") == ["linux ", "crasher "]


def test_file_paths(completer, tmp_path):
    (tmp_path / "kernel.img").write_bytes(b"")
    (tmp_path / "kernel.toml").write_text("")
    assert sorted(offered(completer, f"load {tmp_path}/kern")) == ["el.img", "el.toml"]
    assert offered(completer, f"vm create {tmp_path}/kernel.t") == ["oml"]
    assert offered(completer, f"load {tmp_path}/kernel.img 0x4") == []   # ADDR: nothing to offer
