"""`hvmon power on|off|cycle|reset`: the board profile's [power] commands."""

from __future__ import annotations

from .core import command

ACTIONS = ("on", "off", "cycle", "reset")


@command("power", "switch the board: on, off, cycle or reset ([power] in its profile)",
         lambda p: p.add_argument("action", choices=ACTIONS), complete=(f"word:{','.join(ACTIONS)}",),
         details="power on|off|cycle|reset: runs the board profile's [power] commands (cycle: "
                 "power_cycle, or off then on; reset: reset, or a cycle). The commands see "
                 "HVMON_BOARD and HVMON_PORT. The stub does not survive anything but `on`.")
def run_power(ctx, args):
    from ...bringup.power import power
    profile = ctx.profile()
    url = ctx.url() if ctx.port_known() or ctx.has_board() else None
    if url is not None:
        ctx.lock_port(url)            # the board's owner decides when it is switched
    if args.action != "on":
        ctx.close()                   # the stub is going: no session left waiting on it
    ran = power(profile, args.action, url, say=ctx.say)
    ctx.emit({"action": args.action, "board": profile.name, "ran": ran},
             f"power {args.action}: {profile.name} ({' + '.join(ran)})")
