# Thin wrapper around CMake for the README's commands.
#   make demo    install what is missing, build, start redis + voxcartd with a sample coffee shop
#   make test    install what is missing, build with sanitizers and -Werror, run every test (ctest)
#   make bench   side-by-side benchmark against the reference Node skill (not part of make test)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps test demo demo-stop bench format lint clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

test: deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DVX_WERROR=ON -DVX_SANITIZE=ON >/dev/null
	cmake --build build-test -j$(JOBS)
	cd build-test && ctest --output-on-failure -j$(JOBS)

demo: build
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

bench:
	@scripts/deps.sh bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-bench -j$(JOBS)
	@tests/bench/run.sh build-bench

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@scripts/check-source.sh

clean:
	rm -rf build build-test build-bench
