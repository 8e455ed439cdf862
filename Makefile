# Thin wrapper around CMake for the README's commands.
#   make demo    install what is missing, build, start redis + voxcartd with a sample coffee shop
#   make test    install what is missing, build with sanitizers and -Werror, run every test (ctest)
#   make bench   side-by-side benchmark against the reference Node skill, the paying turn and
#                the recurring biller (not part of make test)
#   make bench-biller   the recurring biller's figure alone (SUBS=100000 due subscriptions)
#   make fuzz    libFuzzer targets built with clang, each run for FUZZ_SECONDS (default 60) or
#                FUZZ_RUNS executions, one at a time (not part of make test)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps test demo demo-stop bench bench-build bench-biller fuzz format lint clean

all: build

deps:
	@scripts/deps.sh build

# Quiet builds: what is compiled and linked, warnings and errors; no "Built target" line per
# target and no "Entering directory" from the nested makes, so a build with nothing to do is silent.
QUIET_CMAKE = -DCMAKE_TARGET_MESSAGES=OFF
QUIET_BUILD = -- --no-print-directory

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(QUIET_CMAKE) >/dev/null
	@cmake --build build -j$(JOBS) $(QUIET_BUILD)

test: deps
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DVX_WERROR=ON -DVX_SANITIZE=ON $(QUIET_CMAKE) >/dev/null
	@cmake --build build-test -j$(JOBS) $(QUIET_BUILD)
	cd build-test && ctest --output-on-failure -j$(JOBS)

demo: build
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

bench-build:
	@scripts/deps.sh bench
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release $(QUIET_CMAKE) >/dev/null
	@cmake --build build-bench -j$(JOBS) $(QUIET_BUILD)

bench: bench-build
	@tests/bench/run.sh build-bench

bench-biller: bench-build
	@tests/bench/biller.sh build-bench

fuzz:
	@scripts/deps.sh fuzz
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVX_FUZZ=ON $(QUIET_CMAKE) >/dev/null
	@cmake --build build-fuzz -j2 --target fuzz_targets $(QUIET_BUILD)
	@tests/fuzz/run.sh build-fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@scripts/check-source.sh

clean:
	rm -rf build build-test build-bench build-fuzz
