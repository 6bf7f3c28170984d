"""Commands on the framed board: info, load, read/md, crc, hvc."""

from __future__ import annotations

import base64
from pathlib import Path

from ... import protocol as P
from ...errors import ConfigError
from ...target.board import BoardInfo, hypercall
from .core import command, number


def format_info(info: BoardInfo) -> str:
    lines = [f"hvmon {info.version} on {info.board}, protocol {info.protocol_version}, "
             f"boot id {info.boot_id:08x}",
             f"frames: payload <= {info.max_payload} bytes, window {info.window}, "
             f"data chunk {info.data_chunk}, staging {info.staging_size}",
             f"capabilities: {', '.join(c.name for c in type(info.capabilities) if c in info.capabilities)}",
             f"addresses: {info.pa_bits}-bit physical, {info.ipa_bits}-bit guest-physical"]
    if info.memory:
        lines.append(f"memory: {info.memory}")
    lines += [f"RAM        {r.base:#018x}-{r.end - 1:#018x} ({r.size >> 20} MiB)" for r in info.ram]
    lines += [f"protected  {r.base:#018x}-{r.end - 1:#018x} {r.name}" for r in info.protected]
    for r in info.reserved:
        if r.enforced:
            no_map = " (no-map)" if r.flags & P.ReservedFlag.NO_MAP else ""
            lines.append(f"reserved   {r.base:#018x}-{r.end - 1:#018x} {r.path}{no_map}")
        else:
            lines.append(f"reserved   {r.path}: size {r.size:#x} only, not placed: nothing reserved")
    lines.append(f"GIC        INTIDs 0-{info.gic_intids - 1}: SPIs 32-{info.gic_intids - 1} "
                 "for consoles and passthrough")
    return "\n".join(lines)


def info_json(info: BoardInfo) -> dict:
    return {"version": info.version, "board": info.board, "memory": info.memory,
            "protocol": info.protocol_version,
            "boot_id": info.boot_id, "max_payload": info.max_payload, "window": info.window,
            "data_chunk": info.data_chunk, "staging_size": info.staging_size,
            "pa_bits": info.pa_bits, "ipa_bits": info.ipa_bits,
            "capabilities": [c.name for c in type(info.capabilities) if c in info.capabilities],
            "ram": [{"base": r.base, "size": r.size} for r in info.ram],
            "protected": [{"base": r.base, "size": r.size, "name": r.name} for r in info.protected],
            "reserved": [{"base": r.base, "size": r.size, "name": r.path,
                          "flags": [f.name for f in P.ReservedFlag if f in r.flags]}
                         for r in info.reserved],
            "gic_intids": info.gic_intids}


@command("info", "protocol, board, RAM map, protected and reserved ranges, GIC INTIDs (framed)")
def run_info(ctx, args):
    # Opening the board asks for INFO already: a board opened just now needs no second
    # round trip for the same answer; one opened earlier in the chain may have reset.
    opened_before = ctx.has_board()
    info = ctx.board().info(refresh=opened_before)
    ctx.emit(info_json(info), format_info(info))


@command("uart", "the link UART: FIFO depth, bytes each way, overruns and line errors (framed)")
def run_uart(ctx, args):
    stats = ctx.board().uart_stats()
    ctx.emit(stats.as_dict(), f"UART  {stats}")


def _load_args(p):
    p.add_argument("file")
    p.add_argument("addr")
    p.add_argument("--raw", action="store_true", help="send uncompressed")
    p.add_argument("--no-skip", action="store_true", help="send even chunks already in place")
    p.add_argument("--no-verify", action="store_true", help="skip the final CRC check")


@command("load", "load FILE at ADDR: skip unchanged, deflate or LZMA2, verify CRC",
         _load_args, complete=("file",))
def run_load(ctx, args):
    addr = number(args.addr, "ADDR")
    path = Path(args.file)
    board = ctx.board()
    with ctx.progress(f"{path.name} -> {addr:#x}") as progress:
        stats = board.write(addr, path, progress=progress, compress=not args.raw,
                            skip_unchanged=not args.no_skip, verify=not args.no_verify)
    wire = stats.sent_raw + stats.sent_compressed
    blocks = ", ".join(f"{n} {codec}" for codec, n in stats.blocks.items() if n)
    ctx.emit({"addr": addr, "total": stats.total, "skipped": stats.skipped,
              "sent_raw": stats.sent_raw, "sent_deflated": stats.sent_deflated,
              "deflated_from": stats.deflated_from, "sent_lzma2": stats.sent_lzma2,
              "lzma2_from": stats.lzma2_from, "blocks": stats.blocks,
              "cache_hits": stats.cache_hits, "cache_misses": stats.cache_misses,
              "seconds": stats.seconds, "verified": not args.no_verify},
             f"loaded {stats.total} bytes at {addr:#x} in {stats.seconds:.2f} s: "
             f"{stats.skipped} unchanged, {stats.sent_raw} sent raw, {stats.deflated_from} sent "
             f"deflated as {stats.sent_deflated}, {stats.lzma2_from} as LZMA2 in {stats.sent_lzma2}"
             f"; {wire} bytes of data on the wire"
             + (f" (blocks: {blocks}; {stats.cache_hits} from the block cache)" if blocks else "")
             + ("" if args.no_verify else ", CRC verified"))


def hexdump(addr: int, data: bytes, width: int = 16) -> str:
    lines = []
    for i in range(0, len(data), width):
        row = data[i:i + width]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{addr + i:016x}  {hexes:<{width * 3 - 1}}  |{text}|")
    return "\n".join(lines)


def _read_args(p):
    p.add_argument("addr")
    p.add_argument("length", nargs="?", default="0x100")
    p.add_argument("-o", "--output", help="write the bytes to this file (default: a hex dump)")
    p.add_argument("--base64", action="store_true", help="with --json: base64 instead of hex")
    p.add_argument("--compress", action="store_true",
                   help="the stub deflates what it reads (MEM_READ_DEFLATE): fewer bytes on "
                        "the line for anything but random data")


@command("read", "read LEN bytes at ADDR into a file (-o) or as a hex dump", _read_args)
def run_read(ctx, args):
    addr, length = number(args.addr, "ADDR"), number(args.length, "LEN")
    board = ctx.board()
    label = f"{addr:#x} -> {args.output}" if args.output else f"{addr:#x}+{length:#x}"
    with ctx.progress(label) as progress:
        data = board.read(addr, length, progress=progress, compress=args.compress)
    result = {"addr": addr, "length": len(data)}
    on_line = ""
    if args.compress and board.last_read is None:
        ctx.say("read: this stub cannot deflate its reads (no READ_DEFLATE): read as they are")
    elif args.compress:
        wire = result["wire_bytes"] = board.last_read.wire
        on_line = f", {wire} on the line ({wire / max(len(data), 1):.3f} of it)"
    if args.output:
        Path(args.output).write_bytes(data)
        result["output"] = args.output
        ctx.emit(result, f"read {len(data)} bytes from {addr:#x} into {args.output}{on_line}")
        return
    if args.base64:
        result["base64"] = base64.b64encode(data).decode()
    else:
        result["hex"] = data.hex()
    ctx.emit(result, hexdump(addr, data))


@command("md", "hex dump of LEN bytes (default 0x100) at ADDR", _read_args)
def run_md(ctx, args):
    return run_read(ctx, args)


def _crc_args(p):
    p.add_argument("addr")
    p.add_argument("length")


@command("crc", "CRC-32 of LEN bytes at ADDR (the same as U-Boot's crc32 and zlib's)", _crc_args)
def run_crc(ctx, args):
    addr, length = number(args.addr, "ADDR"), number(args.length, "LEN")
    board = ctx.board()
    board.check_range(addr, length, writing=False)
    crc = board.crc(addr, length)
    ctx.emit({"addr": addr, "length": length, "crc32": crc},
             f"crc32 {addr:#x}+{length:#x} = {crc:#010x}")


def status_name(status: int) -> str:
    """x0 of a hypercall: 0, SMCCC's -1, or minus a protocol status (hvmon.toml)."""
    if status == 0:
        return "OK"
    if status == -1:
        return "NOT_SUPPORTED (SMCCC -1)"
    code = -status
    return P.Status(code).name if code in P.Status.__members__.values() else str(status)


def hvc_value(ctx, text: str, what: str, arg_name: str) -> int:
    """A hypercall argument: a number, a VM's name (for `vm` arguments), or a symbol of
    the stub's ELF."""
    try:
        return number(text, what)
    except ConfigError:
        pass
    if arg_name == "vm":
        from ...target.vms import vm_list
        for entry in vm_list(ctx.board()):
            if entry.name == text:
                return entry.id
    table = ctx.symbols.stub
    if table is not None and table.address(text) is not None:
        return table.address(text)
    raise ConfigError(f"bad number {text!r} for {what} (not a number, VM name or stub symbol)")


def _hvc_args(p):
    p.add_argument("name", help="name from protocol/hvmon.toml, or a function id")
    p.add_argument("args", nargs="*", help="x1..x6: numbers, VM names or stub symbols")


@command("hvc", "issue a hypercall by name or function id", _hvc_args, complete=("hvc",),
         details="hvc NAME|ID [ARG...]: arguments are numbers (0x.., decimal), VM names or "
                 "symbols of the stub's ELF; x0 is decoded with protocol/hvmon.toml's status "
                 "names, x1..x3 with the hypercall's result names.")
def run_hvc(ctx, args):
    try:
        target = hypercall(int(args.name, 0))
    except ValueError:
        target = hypercall(args.name)
    board = ctx.board()
    values = [hvc_value(ctx, a, f"argument {i + 1} of {target.name}",
                        target.args[i] if i < len(target.args) else "")
              for i, a in enumerate(args.args)]
    result = board.hvc(target.id, *values)
    name = status_name(result.status)
    data = {"name": target.name, "id": target.id, "x0": result.status, "status": name,
            "x": list(result.x), "results": dict(result.results)}
    if result.status != 0:
        ctx.emit(data, f"{target.name}: x0 = {result.status} ({name})")
        return 5
    lines = [f"{target.name}: x0 = 0 (OK)"]
    names = target.results or ("x1", "x2", "x3")
    for i, value in enumerate(result.x[1:4]):
        label = names[i] if i < len(names) else f"x{i + 1}"
        if i < len(names) or value:
            lines.append(f"  {label} = {value:#x} ({value})")
    ctx.emit(data, "\n".join(lines))
