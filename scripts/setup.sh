#!/usr/bin/env bash
# Everything hvmon needs on a fresh Debian 12 machine, idempotent: apt packages (only
# those missing), the virtual environment and the editable install.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    qemu-system-arm        # qemu-system-aarch64: the QEMU board
    u-boot-qemu            # /usr/lib/u-boot/qemu_arm64/u-boot.bin: the board's firmware
    gcc-aarch64-linux-gnu  # the stub's compiler
    binutils-aarch64-linux-gnu
    device-tree-compiler   # dtc: guest device trees
    cpio                   # guest initramfs
    make
    gcc                    # host-native unit tests of firmware drivers, bench/hoststub
    libc6-dev              # their C library headers (a Recommends of gcc, not a Depends)
    python3-venv
    tmux                   # terminal tests of the interactive commands
    lrzsz                  # sz --ymodem: the loady baseline in bench/
    ser2net                # RFC 2217 export of a serial line: the HIL remote-board test
    clang                  # libFuzzer for the stub's decoder (make fuzz)
    libclang-rt-14-dev
    fish zsh               # the shells whose completion scripts the tests run
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Reinstall only when the project's metadata changed.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch .venv/.installed
fi
echo "setup: done"
