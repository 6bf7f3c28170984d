"""The stub as the host sees it: the framed Board API (board) and how it compresses
(packing, lzma2, blockcache), VMs on it (vms, vmconfig, vm_prepare, kernel; guest DTBs cut by guest_dtb with
dtb_cpus, dtb_refs and fdt_tree), its text monitor (monitor) and its symbols (symbols).

It may import transport/ and the shared vocabulary at the package root; nothing above
(bringup/, ui/, hil/)."""
