"""`hvmon selftest`: one bring-up, every check a new board needs, a report saved."""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError
from .core import command, number

RESULTS = Path("results") / "selftest"


def _selftest_args(p):
    p.add_argument("--image", type=Path, help="stub image (default: the board's build)")
    p.add_argument("--guest", type=Path, metavar="CONFIG",
                   help="VM config of the Linux guest (default: boards/<board>/linux.toml)")
    p.add_argument("--no-guest", action="store_true", help="do not boot a Linux guest")
    p.add_argument("--transfer", default="256K", metavar="BYTES",
                   help="bytes moved each way for the goodput lines (default: %(default)s)")
    p.add_argument("--scratch", default="1M", metavar="BYTES",
                   help="RAM the pattern test fills (default: %(default)s)")
    p.add_argument("--guest-timeout", type=float, default=180.0,
                   help="seconds the guest may take to its shell (default: %(default)s)")
    p.add_argument("--stub-port", metavar="URL",
                   help="the stub's own line, when it is not U-Boot's (as for bringup)")
    p.add_argument("-o", "--results", type=Path, default=RESULTS,
                   help="folder for the Markdown and JSON report (default: %(default)s)")


@command("selftest", "bring the stub up, measure the board, boot a guest; save a report",
         _selftest_args, repl=False,
         details="selftest: U-Boot's banner and environment, the stub's load address, the RAM "
                 "map, UART counters, the timer, a RAM pattern test, goodput both ways, unpack "
                 "speed and a Linux guest with a DTB cut from the board's own. Without -p a "
                 "QEMU board of the profile is started and stopped. Exit code 1 when a check "
                 "fails; the report (printed, and saved as Markdown and JSON) says which.")
def run_selftest_command(ctx, args):
    from ...bringup.selftest import SelftestOptions, run_selftest
    options = SelftestOptions(image=args.image, guest=args.guest, boot_guest=not args.no_guest,
                              scratch_size=number(args.scratch, "--scratch"),
                              transfer_bytes=number(args.transfer, "--transfer"),
                              guest_timeout=args.guest_timeout)
    for value, what in ((options.scratch_size, "--scratch"), (options.transfer_bytes, "--transfer")):
        if value <= 0 or value % 4:
            raise ConfigError(f"selftest {what}: {value} must be a positive multiple of 4 bytes")
    if options.transfer_bytes > options.scratch_size:
        raise ConfigError(f"selftest --transfer ({options.transfer_bytes}) is larger than "
                          f"--scratch ({options.scratch_size}): the transfer lands in the scratch range")
    profile = ctx.profile()
    url = ctx.url() if ctx.port_known() else None
    if url is None and profile.qemu is None:
        raise ConfigError(f"selftest: board {profile.name} has no [qemu] section; give -p PORT")
    ctx.close()
    if args.stub_port and url is None:
        raise ConfigError("selftest --stub-port needs -p PORT (a QEMU board started here brings "
                          "its own stub line)")
    report = run_selftest(profile, url, options, say=ctx.say, stub_url=args.stub_port)
    markdown, data = report.save(args.results)
    ctx.emit(report.as_dict(), report.markdown())
    ctx.notify(f"report saved: {markdown} and {data}")
    return 0 if report.passed else 1
