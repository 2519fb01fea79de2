# The README's commands: `make` builds build/convo, `make run` installs, builds and starts CONVO on the
# embedded default, `make test` installs, builds the normal and the ASan+UBSan builds and runs every test.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build asan run test unit e2e deps format bench clean

all: build

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS) --target convo

asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCONVO_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)

deps:
	@bash scripts/install-deps.sh

run: deps build
	@./build/convo

test: deps build asan
	@bash scripts/test.sh

unit: asan
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

e2e: asan
	@CONVO_BIN=$(CURDIR)/build-asan/convo node --test tests/e2e/

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

bench: build
	@bash bench/http.sh

clean:
	@rm -rf build build-asan
