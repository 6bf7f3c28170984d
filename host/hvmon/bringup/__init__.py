"""Getting a board to a running stub: board profiles (board_profile), the QEMU board
(qemu), U-Boot's console and YMODEM (uboot, ymodem), the bring-up sequence (bring_up),
guest images preloaded by QEMU (preload) and scripted bring-up (plan).

It may import target/, transport/ and the shared vocabulary; not ui/ or hil/."""
