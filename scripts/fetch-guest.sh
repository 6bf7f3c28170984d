#!/usr/bin/env bash
# Guest images from Debian's package archive, cached in cache/guest/:
#   Image       the arm64 kernel of the current linux-image-arm64 (a raw arm64 Image)
#   initramfs   busybox-static:arm64 with a small /init, as a newc cpio
# Idempotent: nothing is downloaded when the cache is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=cache/guest
mkdir -p "$CACHE/debs"
if [ -s "$CACHE/Image" ] && [ -s "$CACHE/initramfs.cpio.gz" ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -q
fi
# The kernel package the arm64 meta-package points at today, e.g. linux-image-6.1.0-NN-arm64.
kernel_pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | sed -n 's/ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n1)
if [ -z "$kernel_pkg" ]; then
    $SUDO apt-get update -q
    kernel_pkg=$(apt-cache depends linux-image-arm64:arm64 | sed -n 's/ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n1)
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
