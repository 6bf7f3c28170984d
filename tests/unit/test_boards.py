"""Board profiles and the stub images built from them."""

from __future__ import annotations

import struct

import pytest
from elftools.elf.elffile import ELFFile

from hvmon.bringup.board_profile import boards_dir, load_profile
from hvmon.errors import ConfigError

BOARDS = sorted(p.parent.name for p in boards_dir().glob("*/board.toml"))
REPO = boards_dir().parent


def test_both_boards_exist():
    assert {"qemu-virt", "rk3588"} <= set(BOARDS)


@pytest.mark.parametrize("name", BOARDS)
def test_every_board_has_a_readme_citing_sources(name):
    readme = (boards_dir() / name / "README.md").read_text()
    assert "0x" in readme and ("Source" in readme or "source" in readme)


@pytest.mark.parametrize("name", BOARDS)
def test_image_header_keeps_the_stub_where_loady_put_it(name):
    profile = load_profile(name)
    image = profile.image().read_bytes()
    code0, text_offset, image_size, flags = struct.unpack_from("<I4xQQQ", image, 0)
    assert image[0x38:0x3C] == b"ARM\x64"
    assert code0 >> 26 == 0b000101, "first word is a branch"
    assert text_offset == profile.load_address % (2 << 20)
    assert flags == 0xA                       # little-endian, 4 KiB pages, anywhere
    assert image_size >= len(image)


@pytest.mark.parametrize("name", BOARDS)
def test_elf_is_linked_at_the_board_load_address(name):
    profile = load_profile(name)
    with open(profile.image("elf"), "rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_AARCH64"
        assert elf["e_entry"] == profile.load_address
        symbols = elf.get_section_by_name(".symtab")
        assert symbols.get_symbol_by_name("el2_vectors")[0]["st_value"] % 0x800 == 0


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"no board profile .*known boards: .*qemu-virt"):
        load_profile("no-such-board")


def test_missing_key_names_file_section_and_key(tmp_path):
    bad = tmp_path / "board.toml"
    bad.write_text('name = "x"\n[firmware]\nuart = "pl011"\n[uboot]\nprompt = "=> "\n')
    with pytest.raises(ConfigError, match=r"board.toml: \[firmware\] is missing key 'load_address'"):
        load_profile(bad)


def test_wrong_type_is_named(tmp_path):
    bad = tmp_path / "board.toml"
    bad.write_text('[firmware]\nload_address = "0x40200000"\nuart = "pl011"\n')
    with pytest.raises(ConfigError, match=r"\[firmware\] load_address must be int"):
        load_profile(bad)


def test_broken_toml_names_the_file(tmp_path):
    bad = tmp_path / "board.toml"
    bad.write_text("[firmware\n")
    with pytest.raises(ConfigError, match=r"board.toml: "):
        load_profile(bad)


def test_before_boot_commands_are_a_list_of_lines(tmp_path):
    text = (REPO / "boards" / "qemu-virt" / "board.toml").read_text()
    good = tmp_path / "good.toml"
    good.write_text(text.replace('[uboot]\n', '[uboot]\nbefore_boot = ["fdt addr $fdtcontroladdr", '
                                 '"fdt rsvmem add 0x4d000000 0x10000"]\n'))
    assert load_profile(good).uboot.before_boot == ("fdt addr $fdtcontroladdr",
                                                    "fdt rsvmem add 0x4d000000 0x10000")
    assert load_profile("qemu-virt").uboot.before_boot == ()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('[uboot]\n', '[uboot]\nbefore_boot = "fdt addr 0"\n'))
    with pytest.raises(ConfigError, match=r"bad.toml: \[uboot\] before_boot must be a list"):
        load_profile(bad)
