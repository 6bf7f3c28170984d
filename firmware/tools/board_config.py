#!/usr/bin/env python3
"""Turn boards/<name>/board.toml into what the firmware build needs.

The board profile is the single source for addresses; this prints either the C
preprocessor flags (--cflags) or one value (--get KEY) for the Makefile, so no
address is written twice.
"""
import argparse
import sys
import tomllib


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--cflags", action="store_true")
    parser.add_argument("--get")
    parser.add_argument("--optional", action="store_true",
                        help="with --get: print nothing (and succeed) when the key is absent")
    args = parser.parse_args()
    try:
        with open(args.profile, "rb") as f:
            profile = tomllib.load(f)
        fw = profile["firmware"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        print(f"{args.profile}: cannot read [firmware]: {exc}", file=sys.stderr)
        return 1
    if args.get:
        value = fw.get(args.get)
        if value is None and args.optional:
            return 0
        if value is None:
            print(f"{args.profile}: [firmware] has no key {args.get!r}", file=sys.stderr)
            return 1
        print(hex(value) if isinstance(value, int) else value)
        return 0
    flags = [f'-DBOARD_NAME=\\"{profile["name"]}\\"']
    for key, value in fw.items():
        if isinstance(value, bool):            # before int: a TOML bool is a Python int
            flags.append(f"-DBOARD_{key.upper()}={int(value)}")
        elif isinstance(value, int):
            flags.append(f"-DBOARD_{key.upper()}={value:#x}UL")
        elif isinstance(value, str) and key != "description":
            # A choice (uart = "16550", uart_locator = "pci_ecam_serial"): one flag per
            # choice, so C can test it with #if defined(...).
            flags.append(f"-DBOARD_{key.upper()}_{value.upper()}=1")
    print(" ".join(flags))
    return 0


if __name__ == "__main__":
    sys.exit(main())
