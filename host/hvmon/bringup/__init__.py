"""Getting a board to a running stub: board profiles (board_profile), the QEMU board
(qemu), U-Boot's console and YMODEM (uboot, ymodem), the bring-up sequence (bring_up),
guest images preloaded by QEMU (preload), scripted bring-up (plan), and without a board:
the board as far as its profile and DTB tell (offline) and a plan's dry run (dry_run).

It may import target/, transport/ and the shared vocabulary; not ui/ or hil/."""
