"""Guest images placed in a QEMU board's RAM by QEMU's loader where a VM config will put
them, like a board whose RAM kept them across a warm reset: creating the VM then only
confirms them with CRCs instead of pushing 30 MB over the serial line."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..target.kernel import load_kernel
from ..target.vmconfig import load_vm_config, plan_layout


def preload_args(config_path: str | Path | dict, folder: Path | None = None) -> list[str]:
    """QEMU -device loader arguments for the kernel and initrd of a VM config whose memory
    has fixed physical addresses. A kernel that is not a raw Image (Image.gz, ELF) is
    unpacked into `folder` first, since the stub holds (and CRCs) the unpacked image;
    without a folder only the initrd is preloaded."""
    config = load_vm_config(config_path)
    if any(region.pa is None for region in config.memory):
        raise ConfigError(f"{config.path}: memory: preloading needs fixed `pa` addresses")
    kernel = load_kernel(config.kernel)
    initrd_size = config.initrd.stat().st_size if config.initrd else 0
    layout = plan_layout(config, kernel, initrd_size)
    kernel_file = config.kernel
    if kernel.format != "Image" and folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        kernel_file = folder / f"{config.name}-kernel.bin"
        if not kernel_file.exists() or kernel_file.stat().st_size != len(kernel.data):
            kernel_file.write_bytes(kernel.data)
    args = []
    if kernel.format == "Image" or folder is not None:
        args += ["-device", f"loader,file={kernel_file},"
                            f"addr={layout.pa(config, layout.kernel_ipa):#x},force-raw=on"]
    if config.initrd:
        args += ["-device", f"loader,file={config.initrd},"
                            f"addr={layout.pa(config, layout.initrd_ipa):#x},force-raw=on"]
    return args
