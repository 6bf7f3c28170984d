# hvmon: `make demo` runs the stub on the QEMU board; `make test` runs every test.
BOARDS := qemu-virt qemu-virt-16550 rk3588
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: all setup firmware protocol guest demo selftest test unit bench fuzz clean

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

demo: firmware
	$(VENV)/bin/hvmon demo

# The board's selftest: report printed and saved in results/selftest/. Without PORT the
# profile's QEMU board is started for the run: make selftest BOARD=rk3588 PORT=/dev/ttyUSB0
BOARD ?= qemu-virt
selftest: firmware guest
	$(VENV)/bin/hvmon -b $(BOARD) $(if $(PORT),-p $(PORT)) selftest

# Two xdist workers, a test file each at a time (a module's tests share its QEMU board).
test: firmware guest
	$(PY) -m pytest -n 2 --dist loadfile

unit: firmware guest
	$(PY) -m pytest tests/unit

# Transfer benchmarks through the link simulator; prints a table, writes bench/results/.
bench: firmware guest
	$(PY) bench/bench_transfer.py
	$(PY) bench/qemu_line.py
	$(PY) bench/bench_boot.py
	$(PY) bench/bench_reconnect.py
	$(PY) bench/bench_snapshot.py
	$(PY) bench/bench_snapshot_file.py

# The stub's link, LZMA2 decoder, FDT reader and guest trap handlers under libFuzzer,
# FUZZ_SECONDS (60) shared among the harnesses (tests/fuzz/Makefile).
fuzz: setup
	$(MAKE) -C tests/fuzz fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

clean:
	$(MAKE) -s -C firmware clean
	rm -rf results
