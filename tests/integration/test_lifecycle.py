"""Reset back into U-Boot, and what the stub says when started wrongly."""

from __future__ import annotations

import dataclasses

import pytest

from hvmon.bringup.uboot import UBoot
from hvmon.errors import BoardRefused, ConfigError
from tests.conftest import run_profile, start_stub

# A reset goes back through U-Boot and up again: two bring-ups a test.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=2)]


def test_reset_returns_to_u_boot_and_the_stub_comes_up_again(fresh_stub):
    stub = fresh_stub
    # U-Boot talks on serial0; the stub on its own line where the profile gives it one.
    uboot_line = stub.target.uboot_link or stub.link
    stub.link.drain()
    uboot_line.drain()
    stub.link.write("reset\r")
    stub.link.expect(rb"resetting \(PSCI SYSTEM_RESET\)", 5, "reset acknowledged")
    uboot_line.expect(rb"U-Boot 20\d\d", 20, "U-Boot banner after reset")
    uboot = UBoot(uboot_line, stub.profile.uboot)
    uboot.catch_prompt(30)
    assert "hvmon-after-reset" in uboot.run("echo hvmon-after-reset")
    # The same cables, the same board: a second bring-up works after the reset.
    from hvmon.bringup.bring_up import bring_up
    again = bring_up(uboot_line, stub.profile,
                     stub_link=stub.link if stub.link is not uboot_line else None)
    assert again.el == 2
    assert "at EL2" in stub.monitor.check("info")


def test_the_stub_says_plainly_when_it_is_not_at_el2(request):
    profile = load_el1_profile(request)
    with pytest.raises(BoardRefused, match=r"hvmon: entered at EL1, but the stub needs EL2"):
        start_stub(request, profile)


def test_an_image_without_an_arm64_header_is_refused_before_sending(tmp_path, request):
    from hvmon.bringup.board_profile import load_profile
    from hvmon.bringup.bring_up import bring_up
    from hvmon.transport.expect import Expect
    from hvmon.transport.link import open_link

    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"\0" * 256)
    with pytest.raises(ConfigError, match=r"bogus.bin: no arm64 Image header"):
        bring_up(Expect(open_link("loop://")), load_profile("qemu-virt"), image=bogus)


def load_el1_profile(request):
    """The run's QEMU board without virtualization=on: U-Boot and so the stub run at EL1."""
    profile = run_profile(request)
    qemu = dataclasses.replace(profile.qemu, machine="virt,gic-version=3")
    return dataclasses.replace(profile, qemu=qemu)
