# hvmon: `make demo` runs the stub on the QEMU board; `make test` runs every test.
BOARDS := qemu-virt rk3588
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: all setup firmware demo test unit clean

all: firmware

setup:
	@bash scripts/setup.sh

firmware: setup
	@for board in $(BOARDS); do $(MAKE) -s -C firmware BOARD=$$board || exit 1; done

demo: firmware
	$(VENV)/bin/hvmon demo

test: firmware
	$(PY) -m pytest

unit: firmware
	$(PY) -m pytest tests/unit

clean:
	$(MAKE) -s -C firmware clean
	rm -rf results
