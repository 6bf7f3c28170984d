#!/usr/bin/env bash
# Guest images from Debian's package archive, cached in cache/guest/:
#   Image       the arm64 kernel of the current linux-image-arm64 (a raw arm64 Image)
#   initramfs   busybox-static:arm64 with a small /init, as a newc cpio
#   rockchip/   the RK3588 board DTBs of Debian's 6.12 arm64 kernel package (its name in
#               rockchip/kernel-package): the guest DTB cutter's tests cut guests from them
# Idempotent: nothing is downloaded when the cache is complete. Only `apt-get download`.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=cache/guest
mkdir -p "$CACHE/debs"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -q
fi

# The package a meta-package depends on today, e.g. linux-image-6.12.117+deb12-arm64.
depends_of() {
    apt-cache depends "$1:arm64" 2>/dev/null | sed -n 's/ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n1
}

# RK3588 DTBs: Debian 12's own 6.1 kernel ships none, its 6.12 (bookworm-backports) does.
if ! ls "$CACHE"/rockchip/rk3588*.dtb >/dev/null 2>&1; then
    dtb_pkg=$(depends_of linux-image-6.12-arm64)
    if [ -z "$dtb_pkg" ]; then
        $SUDO apt-get update -q
        dtb_pkg=$(depends_of linux-image-6.12-arm64)
    fi
    [ -n "$dtb_pkg" ] || { echo "fetch-guest: no linux-image-6.12-arm64 in the package archive" >&2; exit 1; }
    dtb_debs=$(mktemp -d) && chmod 755 "$dtb_debs"     # apt-get download runs as _apt
    (cd "$dtb_debs" && apt-get download -q "$dtb_pkg:arm64")
    dpkg-deb --fsys-tarfile "$dtb_debs"/linux-image-*_arm64.deb \
        | tar -x -C "$dtb_debs" --wildcards './usr/lib/linux-image-*/rockchip/rk3588*.dtb'
    mkdir -p "$CACHE/rockchip"
    cp "$dtb_debs"/usr/lib/linux-image-*/rockchip/rk3588*.dtb "$CACHE/rockchip/"
    echo "$dtb_pkg" > "$CACHE/rockchip/kernel-package"
    rm -rf "$dtb_debs"
    echo "fetch-guest: $(ls "$CACHE"/rockchip/*.dtb | wc -l) RK3588 DTBs from $dtb_pkg"
fi

if [ -s "$CACHE/Image" ] && [ -s "$CACHE/initramfs.cpio.gz" ]; then
    exit 0
fi
# The kernel package the arm64 meta-package points at today, e.g. linux-image-6.1.0-NN-arm64.
kernel_pkg=$(depends_of linux-image-arm64)
if [ -z "$kernel_pkg" ]; then
    $SUDO apt-get update -q
    kernel_pkg=$(depends_of linux-image-arm64)
fi
(cd "$CACHE/debs" && apt-get download -q "$kernel_pkg:arm64" busybox-static:arm64)
rm -rf "$CACHE/root" && mkdir -p "$CACHE/root"
dpkg-deb -x "$CACHE"/debs/linux-image-*_arm64.deb "$CACHE/root/kernel"
dpkg-deb -x "$CACHE"/debs/busybox-static_*_arm64.deb "$CACHE/root/busybox"
cp "$CACHE"/root/kernel/boot/vmlinuz-* "$CACHE/Image"
echo "$kernel_pkg" > "$CACHE/kernel-package"

# initramfs: busybox and an /init that mounts the basics and starts a shell.
init=$CACHE/root/initramfs
rm -rf "$init" && mkdir -p "$init"/{bin,sbin,proc,sys,dev,tmp,etc}
cp "$CACHE/root/busybox/bin/busybox" "$init/bin/busybox"
for tool in sh ls cat echo mount poweroff reboot uname dmesg sleep grep; do
    ln -sf busybox "$init/bin/$tool"
done
cat > "$init/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "hvmon-guest: $(uname -r) up, $(grep -c ^processor /proc/cpuinfo) CPUs"
exec /bin/sh
INIT
chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc --quiet) | gzip -9 > "$CACHE/initramfs.cpio.gz"
ls -l "$CACHE/Image" "$CACHE/initramfs.cpio.gz"
