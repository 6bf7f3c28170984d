"""migrate: a running VM moved to another board through the host (hvmon.target.migrate)."""

from __future__ import annotations

from ...errors import ConfigError
from .core import command


def _args(p) -> None:
    p.add_argument("name", help="the running VM to move")
    p.add_argument("--from", dest="source", metavar="URL",
                   help="the board it runs on (default: -p, or the REPL's board)")
    p.add_argument("--to", dest="target", metavar="URL", required=True,
                   help="the board to run it on: a stub brought up with the same board profile")
    p.add_argument("--rounds", type=int, default=8,
                   help="pre-copy rounds at most before the stop-and-copy (default 8)")


@command("migrate", "move a running VM to another board: migrate NAME [--from URL] --to URL",
         _args, complete=("vm",),
         details="Copies the VM's RAM to the other board while the guest runs (rounds of the "
                 "pages it wrote meanwhile), then pauses it, copies the rest and its state, "
                 "and runs it there; prints the downtime and the bytes moved. If the other "
                 "board refuses, the VM goes on on this one.")
def migrate(ctx, args) -> None:
    from ...target.board import Board
    from ...target.migrate import migrate_vm
    from ...transport.link import open_link
    from ...transport.port_lock import PortLock

    if args.rounds < 1:
        raise ConfigError(f"migrate: --rounds {args.rounds}: at least 1")
    if args.source and not ((ctx.port_known() or ctx._url) and ctx.url() == args.source):
        ctx.set_url(args.source)
    if args.target == ctx.url():
        raise ConfigError(f"migrate: --to {args.target} is the board the VM runs on")
    source = ctx.board()
    lock = PortLock(args.target, wait=ctx.options.wait, hint="--wait waits for it to leave")
    port = None
    try:
        port = open_link(args.target, ctx.baud())
        target = Board.attach(port)
        try:
            st = migrate_vm(source, target, args.name, max_rounds=args.rounds, say=ctx.say)
        finally:
            target.close()
    finally:
        if port is not None and port.is_open:
            port.close()
        lock.release()
    ctx.emit({"action": "migrate", "vm": args.name, "to": args.target, "id": st.vm,
              "guest_ram": st.guest_ram, "rounds": st.rounds, "first_copy": st.first_copy,
              "final_pages": st.final_pages, "bytes_moved": st.bytes_moved,
              "downtime_s": round(st.downtime_s, 4), "seconds": round(st.seconds, 3)},
             f"migrated {args.name} to {args.target} (VM {st.vm} there): downtime "
             f"{st.downtime_s * 1000:.0f} ms, {st.bytes_moved / 2**20:.1f} MiB moved "
             f"(first image {st.first_copy / 2**20:.1f} MiB, rounds {st.rounds}, "
             f"{st.final_pages} pages stopped), {st.seconds:.1f} s in all")
