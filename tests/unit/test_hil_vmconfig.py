"""VM configs written as Python dicts (the HIL `vm` fixture): the same keys and checks
as a TOML file, and errors that say which dict."""

from __future__ import annotations

import pytest

from hvmon.errors import ConfigError
from hvmon.target.board import Range
from hvmon.target.vmconfig import load_vm_config, vm_config_from_dict

RAM = (Range(0x40000000, 0x40000000, "ram"),)
STUB = (Range(0x40200000, 0x20000, "stub"),)


def kernel(tmp_path):
    path = tmp_path / "Image"
    path.write_bytes(b"\0" * 64)
    return path


def test_a_dict_gives_the_same_config_as_its_toml_file(tmp_path):
    kernel(tmp_path)
    toml = tmp_path / "g.toml"
    toml.write_text('name = "g"\ncpus = 2\nmemory = [{ ipa = 0x40000000, size = 0x4000000 }]\n'
                    'kernel = "Image"\ncmdline = "console=ttyAMA0"\n')
    data = {"name": "g", "cpus": 2, "memory": [{"ipa": 0x40000000, "size": 0x4000000}],
            "kernel": "Image", "cmdline": "console=ttyAMA0"}
    from_file = load_vm_config(toml, RAM, STUB)
    from_dict = vm_config_from_dict(data, base=tmp_path, ram=RAM, protected=STUB)
    assert from_dict.memory == from_file.memory            # PA allocated the same way
    assert (from_dict.kernel, from_dict.vcpus, from_dict.cmdline) == \
           (from_file.kernel, from_file.vcpus, from_file.cmdline)
    assert load_vm_config({**data, "kernel": str(tmp_path / "Image")}, RAM, STUB).name == "g"


def test_dict_errors_name_the_dict_and_the_key(tmp_path):
    kernel(tmp_path)
    with pytest.raises(ConfigError, match=r"<dict g>: memory\[0\].pa: 0x40200000\+0x200000 "
                                          r"overlaps protected range stub"):
        vm_config_from_dict({"name": "g", "kernel": "Image",
                             "memory": [{"ipa": 0x40000000, "size": 0x200000, "pa": 0x40200000}]},
                            base=tmp_path, ram=RAM, protected=STUB)
    with pytest.raises(ConfigError, match=r"<dict \?>: name: missing"):
        vm_config_from_dict({"kernel": "Image", "memory": []}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"a VM config must be a dict of keys, not list"):
        vm_config_from_dict([("name", "g")])
