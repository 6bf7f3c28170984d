"""Everything a VM needs before the first request is sent: its checked config, kernel,
initrd, guest DTB, IPA layout and where its virtual GIC goes. `vm create` sends what this
builds; `vm check` and `up --dry-run` build it without a board."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from .guest_dtb import cut_guest_dtb, gic_of
from .kernel import KernelImage, load_kernel
from .vmconfig import Layout, VmConfig, check_ipa_spans, gic_spans, ipa_spans, plan_layout


@dataclass(frozen=True)
class PreparedVm:
    config: VmConfig
    kernel: KernelImage
    initrd: bytes
    dtb: bytes
    layout: Layout
    gic_dist: int                 # the vGIC's IPAs for VM_CREATE; 0 = the board GIC's own
    gic_redist: int
    dtb_origin: str               # "cut from <source>" or the config's dtb file
    cpus_from: tuple[str, ...] = ()   # board CPU nodes the guest's were made from (cut DTBs)

    def images(self) -> list[tuple[str, int, bytes]]:
        """(what, IPA, bytes) in the order they are pushed."""
        out = [("kernel", self.layout.kernel_ipa, self.kernel.data)]
        if self.initrd:
            out.append(("initrd", self.layout.initrd_ipa, self.initrd))
        out.append(("dtb", self.layout.dtb_ipa, self.dtb))
        return out


def prepare_vm(config: VmConfig, board_dtb: Callable[[], bytes], source: str = "board DTB",
               boot_mpidr: int | None = None) -> PreparedVm:
    """board_dtb is called only when the guest's DTB is to be cut from the board's."""
    kernel = load_kernel(config.kernel)
    initrd = config.initrd.read_bytes() if config.initrd else b""
    if config.dtb:
        dtb = config.dtb.read_bytes()
        layout = plan_layout(config, kernel, len(initrd), len(dtb))
        dist, redist = _given_dtb_gic(config, dtb)
        return PreparedVm(config, kernel, initrd, dtb, layout, dist, redist, str(config.dtb))
    layout = plan_layout(config, kernel, len(initrd))
    cut = cut_guest_dtb(board_dtb(), config, layout, len(initrd), boot_mpidr, source)
    layout = plan_layout(config, kernel, len(initrd), len(cut.blob))
    return PreparedVm(config, kernel, initrd, cut.blob, layout, cut.gic_dist, cut.gic_redist,
                      f"cut from {source}", cut.cpus_from)


def _given_dtb_gic(config: VmConfig, dtb: bytes) -> tuple[int, int]:
    """A hand-written DTB says where its guest looks for the GIC: the vGIC goes there.
    Neither it nor the config placing the GIC: the board GIC's own addresses (0)."""
    found = gic_of(dtb, str(config.dtb))
    if config.gic_dist is not None:
        if found is not None and found != (config.gic_dist, config.gic_redist):
            raise ConfigError(f"{config.path}: gic: {config.gic_dist:#x}/{config.gic_redist:#x}, but "
                              f"{config.dtb} puts the GIC at {found[0]:#x}/{found[1]:#x}")
        return config.gic_dist, config.gic_redist
    if found is None:
        return 0, 0
    check_ipa_spans(config.path, ipa_spans(config) + gic_spans(
        found[0], found[1], config.vcpus, f"the GIC distributor of {config.dtb}",
        f"the GIC redistributors of {config.dtb}"))
    return found
