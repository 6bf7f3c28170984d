"""The frame sizer: the largest frame on a clean line, halved after resends (once per
burst), down to its floor, and grown back after a run of clean frames."""

from collections import Counter

from hvmon.target.frame_size import CLEAN_FRAMES, SETTLE_FRAMES, SMALLEST, FrameSizer


def test_a_clean_line_keeps_the_largest_frame():
    sizer = FrameSizer(Counter(frames_out=5), 4096)
    assert {sizer.next() for _ in range(1000)} == {4096}


def test_one_burst_of_resends_halves_once_and_clean_frames_grow_it_back():
    stats = Counter()
    sizer = FrameSizer(stats, 4096)
    for _ in range(SETTLE_FRAMES + 1):
        sizer.next()
    stats["naks_in"] += 1
    stats["retransmits"] += 8
    assert sizer.next() == 2048
    for _ in range(SETTLE_FRAMES - 1):          # the same burst, still counting in
        stats["retransmits"] += 1
        assert sizer.next() == 2048
    sizes = [sizer.next() for _ in range(CLEAN_FRAMES)]
    assert sizes[-1] == 4096 and set(sizes[:-1]) == {2048}


def test_a_noisy_line_goes_down_to_the_floor_and_no_further():
    stats = Counter()
    sizer = FrameSizer(stats, 4096)
    sizes = []
    for _ in range(400):
        stats["timeouts"] += 1
        sizes.append(sizer.next())
    assert sizes[-1] == SMALLEST and min(sizes) == SMALLEST
    assert sizes == sorted(sizes, reverse=True)


def test_the_stubs_own_limit_below_the_floor_is_kept():
    sizer = FrameSizer(Counter(), 128)
    assert sizer.next() == 128 and sizer.smallest == 128


def test_slices_cover_the_data_exactly_in_order():
    stats = Counter()
    sizer = FrameSizer(stats, 1000)
    data = bytes(range(256)) * 40
    pieces = []
    for offset, piece in sizer.slices(data):
        pieces.append((offset, piece))
        stats["naks_out"] += 1                # every frame hit: the sizes shrink as it goes
    assert b"".join(p for _, p in pieces) == data
    assert [o for o, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]
    assert len({len(p) for _, p in pieces[:-1]}) > 1
