# The two commands a newcomer needs: `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
# `make install`: under PREFIX (binaries, units), /etc/nexus for the config;
# DESTDIR stages the whole tree elsewhere (packages, tests).
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps configure build install run test unit e2e e2e-scaleout fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# cmake --install with the prefix given here; the units name it.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

run: build
	@BUILD_DIR=$(BUILD_DIR) scripts/run.sh

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

e2e: build
	NEXUS_BUILD_DIR=$(abspath $(BUILD_DIR)) $(PYTHON) -m pytest tests/e2e -q -rs

# The same suite again with every instance's storage metadata in PostgreSQL
# and its chunks in an S3 bucket (tests/e2e/backends.py); the tests that read
# the local chunk directory or nexus.db by hand are left out.
e2e-scaleout: build
	NEXUS_BUILD_DIR=$(abspath $(BUILD_DIR)) NEXUS_E2E_BACKENDS=postgres+s3 \
	  $(PYTHON) -m pytest tests/e2e -q -rs -m "not local_store"

# Under CI the fuzz targets also get a short smoke run (30 s each, keeping
# the whole CI run well under half an hour); `make fuzz` alone runs
# FUZZ_SECONDS (default 60) each, and `make fuzz FUZZ_SECONDS=600` longer.
test: unit e2e e2e-scaleout
	@if [ "$${CI:-}" = "true" ]; then $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-30}; fi

fuzz: deps
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} scripts/fuzz.sh

bench: build
	@BUILD_DIR=$(BUILD_DIR) bench/run.sh

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD_DIR)
