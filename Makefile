# hvmon: `make demo` runs the stub on the QEMU board; `make test` runs every test.
BOARDS := qemu-virt qemu-virt-16550 rk3588
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: all setup firmware protocol guest demo selftest test test-16550 unit bench fuzz clean

all: firmware

setup:
	@bash scripts/setup.sh

firmware: setup
	@for board in $(BOARDS); do $(MAKE) -s -C firmware BOARD=$$board || exit 1; done
	@$(MAKE) -s -C tests/guests/hostile

# Regenerate firmware/lib/protocol.h and host/hvmon/protocol.py from protocol/hvmon.toml.
protocol:
	python3 protocol/generate.py

# Debian's arm64 kernel and busybox-static, cached in cache/guest/.
guest: setup
	@bash scripts/fetch-guest.sh

# The demo's board: the stub's line on QEMU's PCI 16550, which carries 0.9 of 1.5 Mbaud, so
# Debian's kernel and initramfs are pushed over it as they would be to an RK3588 (no
# preload). `make demo DEMO_BOARD=qemu-virt` preloads them on the PL011 board instead.
DEMO_BOARD ?= qemu-virt-16550
demo: firmware guest
	$(VENV)/bin/hvmon -b $(DEMO_BOARD) demo

# The board's selftest: report printed and saved in results/selftest/. Without PORT the
# profile's QEMU board is started for the run: make selftest BOARD=rk3588 PORT=/dev/ttyUSB0
BOARD ?= qemu-virt
selftest: firmware guest
	$(VENV)/bin/hvmon -b $(BOARD) $(if $(PORT),-p $(PORT)) selftest

# Three xdist workers, a test file each at a time (a module's tests share its QEMU board):
# on 2 cores, since much of the suite waits on serial lines (README, Tests and their budgets).
test: firmware guest
	$(PY) -m pytest -n 3 --dist loadfile --durations=15

# Every integration module again, on the board whose stub line is QEMU's PCI 16550: apart
# from make test to keep that under 10 minutes. Modules marked board_specific (they start
# a profile of their own, or wrap a run on this board) are deselected and listed with their
# reasons (tests/board_specific.py). tests/test_hoststub*.py drive bench/hoststub, no board.
# Any nonzero pytest status fails, 5 (nothing ran) included. The 15 slowest tests are listed.
test-16550: firmware guest
	$(PY) -m pytest -n 2 --dist loadfile --durations=15 --hvmon-board qemu-virt-16550 tests/integration

unit: firmware guest
	$(PY) -m pytest tests/unit

# Transfer, boot, reconnect and snapshot benchmarks, `make test` from a fresh clone, then
# one table of the tracked figures (bench/summary.py); each prints a table and writes
# bench/results/.
bench: firmware guest
	$(PY) bench/bench_transfer.py
	$(PY) bench/qemu_line.py
	$(PY) bench/bench_boot.py
	$(PY) bench/bench_reconnect.py
	$(PY) bench/bench_snapshot.py
	$(PY) bench/bench_hil_snapshot.py
	$(PY) bench/bench_snapshot_file.py
	$(PY) bench/fresh_clone.py
	$(PY) bench/summary.py

# The stub's link, LZMA2 decoder, FDT reader and guest trap handlers under libFuzzer,
# FUZZ_SECONDS (60) shared among the harnesses (tests/fuzz/Makefile).
fuzz: setup
	$(MAKE) -C tests/fuzz fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

clean:
	$(MAKE) -s -C firmware clean
	rm -rf results
