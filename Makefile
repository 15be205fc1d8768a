# Rapport: two commands from a fresh clone on Debian 12.
#   make demo   set up, build the release binary and serve a demo organisation
#   make test   set up, build the debug preset (ASan + UBSan) and the release binary, and run
#               the whole suite
#   make bench  the benchmarks of DESIGN.md §10 (bench/lmm.sh, bench/ingest.sh)
#   make fuzz   build the libFuzzer targets with clang and run each for FUZZ_SECONDS
.PHONY: setup build debug demo test bench bench-ingest fuzz format clean

FUZZ_SECONDS ?= 60

setup:
	@scripts/setup.sh

build: setup
	cmake --preset release
	cmake --build --preset release
	ln -sf release/rapport build/rapport

debug: setup
	cmake --preset debug
	cmake --build --preset debug

demo: build
	build/rapport demo

# The release build is compiled too, so a break that only the optimiser sees fails here and
# not first in `make demo`.
test: debug build
	ctest --preset debug

bench: build
	bench/lmm.sh
	bench/ingest.sh

# Durable check-in ingest over HTTP alone (bench/ingest.sh; INGEST_CHECKINS=N to change).
bench-ingest: build
	bench/ingest.sh

fuzz:
	@scripts/setup.sh fuzz
	cmake --preset fuzz
	cmake --build --preset fuzz --target instruments_fuzz
	mkdir -p build/fuzz/corpus/instruments
	build/fuzz/src/instruments/instruments_fuzz build/fuzz/corpus/instruments \
	  data/instruments data/textpacks tests/data/fhir fuzz/regressions/instruments \
	  -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/regressions/instruments/

format:
	git ls-files -- '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
