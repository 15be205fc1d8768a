# Rapport: two commands from a fresh clone on Debian 12.
#   make demo   set up, build the release binary and serve a demo organisation
#   make test   set up, build the debug preset (ASan + UBSan) and the release binary, run the
#               whole suite, then every libFuzzer target for TEST_FUZZ_SECONDS each
#   make bench  the benchmarks of DESIGN.md §10 (bench/lmm.sh, bench/ingest.sh), then every
#               libFuzzer target for FUZZ_SECONDS each
#   make fuzz   build the libFuzzer targets with clang and run each for FUZZ_SECONDS
# A fuzzer's crash fails the command and leaves its input in fuzz/regressions/<target>/.
.PHONY: setup build debug demo test bench bench-ingest fuzz format clean

FUZZ_SECONDS ?= 600
TEST_FUZZ_SECONDS ?= 25

setup:
	@scripts/setup.sh

build: setup
	cmake --preset release
	cmake --build --preset release --target rapport
	ln -sf release/rapport build/rapport

debug: setup
	cmake --preset debug
	cmake --build --preset debug

demo: build
	build/rapport demo

# The release binary is compiled too, so a break that only the optimiser sees fails here and
# not first in `make demo` (the unit tests run in the sanitised debug build only).
test: debug build
	ctest --preset debug
	scripts/fuzz.sh $(TEST_FUZZ_SECONDS)

bench: build
	bench/lmm.sh
	bench/ingest.sh
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Durable check-in ingest over HTTP alone (bench/ingest.sh; INGEST_CHECKINS=N to change).
bench-ingest: build
	bench/ingest.sh

fuzz: setup
	scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	git ls-files -- '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
