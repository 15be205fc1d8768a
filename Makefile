# Rapport: two commands from a fresh clone on Debian 12.
#   make demo   set up, build the release binary and serve a demo organisation
#   make test   set up, build the debug preset (ASan + UBSan) and run the whole suite
.PHONY: setup build debug demo test bench format clean

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

test: debug
	ctest --preset debug

bench: build
	bench/lmm.sh

format:
	git ls-files -- '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
