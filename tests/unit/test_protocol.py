"""protocol/hvmon.toml is the single source: the generated files must match it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "protocol"))
import generate  # noqa: E402


def test_generated_files_are_fresh():
    result = subprocess.run([sys.executable, str(ROOT / "protocol" / "generate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_changed_definition_makes_them_stale():
    spec = generate.load()
    spec["commands"]["INFO"]["value"] = 0x7F
    assert generate.c_header(spec) != generate.C_HEADER.read_text()
    assert generate.py_module(spec) != generate.PY_MODULE.read_text()


def test_duplicate_values_are_refused():
    spec = generate.load()
    spec["status"]["BAD_DATA"]["value"] = spec["status"]["OK"]["value"]
    with pytest.raises(SystemExit, match="duplicate value in \\[status\\]"):
        generate.check_unique(spec)


def test_hypercall_ids_stay_in_the_vendor_hypervisor_range():
    spec = generate.load()
    spec["hypercalls"][0]["id"] = 0x84000000          # a PSCI id
    with pytest.raises(SystemExit, match="0xC6000000-0xC600FFFF"):
        generate.check_unique(spec)


def test_every_hypercall_has_a_handler_in_the_stub():
    spec = tomllib.loads((ROOT / "protocol" / "hvmon.toml").read_text())
    table = (ROOT / "firmware" / "vmm" / "hypercall.c").read_text()
    for h in spec["hypercalls"]:
        assert re.search(rf"\{{HVC_{h['name'].upper()}, HVC_{h['name'].upper()}_PRIVILEGED, hvc_\w+\}}",
                         table), f"no handler for {h['name']}"


def test_every_command_has_a_handler_and_is_in_the_spec():
    spec = tomllib.loads((ROOT / "protocol" / "hvmon.toml").read_text())
    handlers = (ROOT / "firmware" / "link" / "requests.c").read_text()
    prose = (ROOT / "protocol" / "spec.md").read_text()
    for name, cmd in spec["commands"].items():
        assert f"{{CMD_{name}, CMD_{name}_REQ_SIZE" in handlers, f"no handler for {name}"
        assert f"{name} {cmd['value']:#04x}" in prose, f"{name} missing from spec.md"
    for name, status in spec["status"].items():
        assert f"{name} {status['value']}" in prose


def test_python_layouts_match_the_c_offsets():
    from hvmon import protocol as P
    header = (ROOT / "firmware" / "lib" / "protocol.h").read_text()
    for command, spec in P.COMMANDS.items():
        offset = P.PAYLOAD_HEADER
        for name, code in zip(spec.request.names, spec.request.format[1:]):
            assert f"#define CMD_{spec.name}_REQ_{name.upper()} {offset}u" in header
            offset += {"B": 1, "H": 2, "I": 4, "Q": 8}[code]
