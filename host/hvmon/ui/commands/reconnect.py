"""Carrying on after the board's line broke or the board reset under a REPL, `console`
or `term`: say in one line what happened, wait for the port to come back (by USB serial
number for `-p id:SERIAL`), and get the stub's session back. A board that reset has no
stub any more: with --reup it is brought up through U-Boot again and the last plan `up`
applied to this port is applied again; without, the user is told how."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...errors import HvmonError, LinkError
from ...transport.reconnect import reopen, waiting_for
from ...transport.session import STUB_BANNER, BoardReset, CallbackFailed


def lost(ctx) -> LinkError | None:
    """Why the context's session can no longer be used, when the line or the board is the
    reason (a callback that raised is a bug to report, not a line to wait for)."""
    if not ctx.has_board():
        return None
    failure = ctx.board().session.failure
    if isinstance(failure, LinkError) and not isinstance(failure, CallbackFailed):
        return failure
    return None


def what_happened(ctx, error: HvmonError) -> str:
    """The one line: "board reset: U-Boot's banner seen on the line", "port X gone;
    waiting for serial number Y", ..."""
    url = ctx.url()
    if isinstance(error, BoardReset):
        return str(error)
    if "stopped acknowledging" in str(error):
        return f"the stub on {url} stopped answering; opening the line again"
    return f"port {url} gone; waiting for {waiting_for(ctx.port_spec() or url, url)}"


def plan_note(url: str) -> Path:
    """Where `up` notes the last plan it applied to a port, for --reup."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "hvmon" / "up" / f"last-plan-{hashlib.sha1(url.encode()).hexdigest()[:12]}"


def remember_plan(url: str, plan: Path) -> None:
    note = plan_note(url)
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(str(Path(plan).resolve()))


def last_plan(url: str) -> Path | None:
    note = plan_note(url)
    if not note.exists():
        return None
    plan = Path(note.read_text().strip())
    return plan if plan.is_file() else None


def reopen_line(ctx) -> None:
    """Wait for the line and take it again (the lock stays ours all along; a device
    that came back under another name is locked under that name too)."""
    spec = ctx.port_spec() or ctx.url()
    port, where = reopen(spec, ctx.baud())
    if where != ctx.url():
        ctx.notify(f"port back as {where}")
    ctx.lock_port(where)
    ctx.adopt(port, None, where)


def recover(ctx, error: HvmonError) -> bool:
    """After `error` broke the context's session: say so, wait for the line, and bring
    the session back. True when the stub answers again; False when it is gone and no
    --reup was asked for (the caller carries on without it)."""
    ctx.notify(what_happened(ctx, error))
    boot_id = ctx.boot_id
    ctx.close(keep_lock=True)
    reopen_line(ctx)
    # A stub that printed its banner again restarted into its text monitor: it answers.
    if not isinstance(error, BoardReset) or error.what == STUB_BANNER:
        try:
            ctx.board()
        except HvmonError as exc:
            ctx.notify(f"no stub answers on {ctx.url()} ({exc})")
            ctx.close(keep_lock=True)
            reopen_line(ctx)
        else:
            restarted = boot_id is not None and ctx.boot_id != boot_id
            ctx.notify(f"reconnected to the stub on {ctx.url()}"
                       + ("; it restarted meanwhile (a new boot id): its VMs are new" if restarted
                          else ""))
            return True
    if not ctx.options.reup:
        ctx.notify("the stub is gone: `bringup` brings it up again (--reup does it by itself)")
        return False
    reup(ctx)
    return True


def reup(ctx) -> None:
    """--reup: the stub up again through U-Boot, then the last plan applied to this port."""
    from .line_cmds import bringup
    from .tool_cmds import up
    ctx.notify("--reup: bringing the stub up again")
    bringup(ctx)
    info = ctx.board().info(refresh=True)
    plan = last_plan(ctx.url())
    if plan is None:
        ctx.notify(f"--reup: stub {info.version} back on {ctx.url()}; no plan to apply again")
        return
    ctx.notify(f"--reup: applying {plan} again")
    up(ctx, str(plan), no_terminal=True)
    ctx.notify(f"--reup: stub {info.version} back on {ctx.url()} with {plan.name} applied")
