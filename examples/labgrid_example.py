"""A test of a board in a labgrid place: labgrid's pytest plugin gives the `strategy` of
the environment YAML (pytest --lg-env examples/labgrid-env.yaml), hvmon's strategy takes
the board through U-Boot to the stub and boots the guest."""

from hvmon.hil import Console


def test_linux_guest_in_a_labgrid_place(strategy):
    strategy.transition("vm")                    # off/uboot -> stub -> the guest at its shell
    board = strategy.hvmon.board                 # hvmon's Board, framed, on the place's line
    assert board.info().board == "qemu-virt"
    console = Console(board, strategy.vm_id, strategy.vm_name)
    console.send("echo $((6 * 7))")
    console.expect(r"\n42\r?\n", timeout=30)
