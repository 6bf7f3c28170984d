"""One line for each event the stub sends on its own (protocol/hvmon.toml [events])."""

from __future__ import annotations

import struct

from .. import protocol as P
from .symbols import Symbolizer
from ..transport.session import HOST_LOST


def describe_event(event: int, payload: bytes, symbols: Symbolizer,
                   names: dict[int, str] | None = None) -> str | None:
    names = names or {}
    if event == P.Event.VM_STOPPED:
        from .vms import parse_vm_stopped
        e = parse_vm_stopped(payload)
        who = f"VM {e.vm}" + (f" ({names[e.vm]})" if e.vm in names else "")
        if e.reason != "fault":
            return f"{who} stopped: {e.reason}"
        return (f"{who} stopped: fault ESR {e.esr:#x} ELR {symbols.describe(e.elr, e.vm)} "
                f"FAR {e.far:#x} IPA {e.ipa:#x}")
    if event == P.Event.FAULT:
        from .board import parse_fault
        f = parse_fault(payload)
        during = f" during {f.command_name} (tag {f.tag})" if f.command else ""
        return (f"stub fault{during}: ESR {f.esr:#x} ELR {symbols.describe(f.elr)} "
                f"FAR {f.far:#x} SPSR {f.spsr:#x}")
    if event == P.Event.LOST:
        channel, count = struct.unpack_from("<II", payload, P.PAYLOAD_HEADER)
        if len(payload) > 1 and payload[1] == HOST_LOST:
            # Dropped by this host's dispatcher, not the stub: Board.consoles has them.
            return (f"{count} bytes of channel {channel} were not shown: the output did not "
                    "keep up with the board")
        return f"{count} bytes of channel {channel} were lost"
    return f"event {event}: {payload[P.PAYLOAD_HEADER:].hex()}"
