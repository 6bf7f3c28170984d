"""The stub as the host sees it: the framed Board API (board), VMs on it (vms, vmconfig,
guest_dtb, kernel), its text monitor (monitor) and its symbols (symbols).

It may import transport/ and the shared vocabulary at the package root; nothing above
(bringup/, ui/, hil/)."""
