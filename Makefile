# stampede: see README.md. Every target is bounded in time; long matrices have their own.
GO        ?= go
BIN       ?= bin/stampede
PKGS      ?= ./...
TEST_FLAGS ?= -race -count=1 -timeout 14m

.PHONY: build test lint demo bench bench-driver bench-checker chaos-matrix chaos-matrix-reduced clean

build:
	$(GO) build -o $(BIN) ./cmd/stampede

test:
	$(GO) test $(TEST_FLAGS) $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

demo: build
	./$(BIN) run

# Go benchmarks: strategies and HTTP holds per database, checkout, waiting room, checker, driver.
# Heavy ones run once (their first iteration outlasts the bench time).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 60m $(PKGS)

# The checker at stadium scale: `stampede check` on a simulated herd's history of
# BENCH_CHECKER_OPS operations (written once into BENCH_CHECKER_DIR, a few minutes), with its
# wall time and peak resident memory; then the adversarial hot-seat set, whose count of
# undecided histories must be 0.
BENCH_CHECKER_OPS ?= 10000000
BENCH_CHECKER_DIR ?= $(CURDIR)/bin/bench-checker
bench-checker: build
	@mkdir -p $(BENCH_CHECKER_DIR)
	STAMPEDE_STADIUM_OPS=$(BENCH_CHECKER_OPS) STAMPEDE_STADIUM_OUT=$(BENCH_CHECKER_DIR)/history-$(BENCH_CHECKER_OPS).jsonl \
		$(GO) test -count=1 -timeout 30m -run '^TestWriteStadiumHistory$$' ./checker/
	/usr/bin/time -f 'stampede check, $(BENCH_CHECKER_OPS) operations: %e s wall, %U s user, %S s system, %M KiB peak RSS' \
		./$(BIN) check $(BENCH_CHECKER_DIR)/history-$(BENCH_CHECKER_OPS).jsonl
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench '^BenchmarkHotSeat$$' -benchtime 1x ./checker/

# The driver beside wrk and vegeta against a trivial endpoint, pinned to separate cores.
bench-driver:
	bash bench/driver.sh

# Every fault x every safe strategy x PostgreSQL and MySQL (96 cells, plus naive under every
# fault), about 10 minutes on two cores; the table of cells goes to $(MATRIX_OUT). CI runs it
# after make test (.ci/run). MATRIX_SEED=N runs every cell with another seed.
MATRIX_OUT ?= $(CURDIR)/bin/chaos-matrix.md
MATRIX_SEED ?=
chaos-matrix:
	@mkdir -p $(dir $(MATRIX_OUT))
	STAMPEDE_MATRIX_SEED=$(MATRIX_SEED) STAMPEDE_CHAOS_MATRIX=long STAMPEDE_MATRIX_OUT=$(MATRIX_OUT) $(GO) test -count=1 -timeout 90m -v -run '^TestChaosMatrix$$' ./run/

# Every fault once, strategies and databases rotating over the cells (about 2 minutes; make
# test runs it too, rotation 0). STAMPEDE_MATRIX_ROTATE=N picks another rotation.
chaos-matrix-reduced:
	@mkdir -p $(dir $(MATRIX_OUT))
	STAMPEDE_MATRIX_SEED=$(MATRIX_SEED) STAMPEDE_CHAOS_MATRIX=reduced STAMPEDE_MATRIX_OUT=$(MATRIX_OUT) $(GO) test -count=1 -timeout 30m -v -run '^TestChaosMatrix$$' ./run/

clean:
	rm -rf bin
