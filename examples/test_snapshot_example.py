"""Restore-per-test with the hvmon pytest plugin: the module's Linux guest boots once, is
snapshotted in board RAM at its shell prompt, and every test that asks for `snapshot`
starts from that shell, restored, whatever the test before it did. Runs as written on
the QEMU board the plugin starts (`pytest examples/test_snapshot_example.py`), and on a
real board with `--hvmon-board rk3588 --hvmon-port /dev/ttyUSB0`."""

import pytest

# Boot the board's default guest (linux.toml beside the profile, or --hvmon-vm) once per
# module; snapshot it when the busybox prompt shows.
pytestmark = pytest.mark.hvmon_snapshot(pattern=r"/ # ", tag="shell")


def test_the_shell_starts_clean(snapshot):
    snapshot.console.send("echo state-${MARK:-unset} tools-$(ls /bin | grep -c .)")
    snapshot.console.expect(r"state-unset tools-1\d\b")


def test_a_test_may_wreck_the_shell(snapshot):
    console = snapshot.console
    console.send("MARK=dirty; busybox rm -rf /bin/*; echo wrecked-$MARK")
    console.expect(r"wrecked-dirty")
    console.send("echo busybox-$([ -e /bin/busybox ] && echo there || echo gone)")
    console.expect(r"busybox-gone")


def test_a_test_may_crash_the_kernel(snapshot):
    snapshot.console.send("echo c > /proc/sysrq-trigger")
    snapshot.console.expect(r"Kernel panic", timeout=30)


def test_each_test_gets_the_booted_shell_back(snapshot):
    console = snapshot.console
    console.send("echo state-${MARK:-unset} busybox-$([ -e /bin/busybox ] && echo there)")
    console.expect(r"state-unset busybox-there")
    console.send("echo $((6 * 7))")
    console.expect(r"\n42\r?\n")


def test_restore_again_in_the_middle_of_a_test(snapshot):
    snapshot.console.send("MARK=first; echo set-$MARK")
    snapshot.console.expect(r"set-first")
    snapshot.restore()
    snapshot.console.send("echo now-${MARK:-unset}")
    snapshot.console.expect(r"now-unset")
