# stampede: see README.md. Every target is bounded in time; long matrices have their own.
GO        ?= go
BIN       ?= bin/stampede
PKGS      ?= ./...
TEST_FLAGS ?= -race -count=1 -timeout 14m

.PHONY: build test lint fuzz soak demo bench bench-driver bench-strategies bench-checker chaos-matrix chaos-matrix-reduced selftest clean

build:
	$(GO) build -o $(BIN) ./cmd/stampede

test:
	$(GO) test $(TEST_FLAGS) $(PKGS)

# Every fuzz target of the tree, each fuzzed for FUZZTIME, one after another (scripts/fuzz.sh);
# the seed corpora are in each package's testdata/fuzz, and an input that fails is written there
# too (keep it: it is the regression test). CI runs it with FUZZTIME=5s.
FUZZTIME ?= 10s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# A long run of scenarios/soak.yaml with its faults rotating (bench/soak; not in make test): it
# samples the reference server's goroutines, heap, open fds and database connections every
# SOAK_INTERVAL and fails when one grows without bound (a linear fit over the second half of
# its floor, the least value of each fault cycle, projected over the soak above 20% of its mean
# plus a floor). Curves in bin/soak/soak.md and
# soak.csv, the run in bin/soak/run.
SOAK_DURATION ?= 10m
SOAK_INTERVAL ?= 10s
soak: build
	$(GO) run ./bench/soak -stampede $(BIN) -duration $(SOAK_DURATION) -interval $(SOAK_INTERVAL) -out bin/soak

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
# wall time, CPU and peak resident memory and the load average around it (wall time on a
# shared machine measures the other jobs: user + system CPU over the 2 cores is the floor a
# quiet machine reaches); then the adversarial hot-seat set, whose count of
# undecided histories must be 0. Its figures are recorded in the checker section of
# docs/performance.md, which make bench-strategies keeps when it regenerates the rest.
BENCH_CHECKER_OPS ?= 10000000
BENCH_CHECKER_DIR ?= $(CURDIR)/bin/bench-checker
bench-checker: build
	@mkdir -p $(BENCH_CHECKER_DIR)
	STAMPEDE_STADIUM_OPS=$(BENCH_CHECKER_OPS) STAMPEDE_STADIUM_OUT=$(BENCH_CHECKER_DIR)/history-$(BENCH_CHECKER_OPS).jsonl \
		$(GO) test -count=1 -timeout 30m -run '^TestWriteStadiumHistory$$' ./checker/
	@echo "load before the check: $$(cut -d' ' -f1-3 /proc/loadavg)"
	/usr/bin/time -f 'stampede check, $(BENCH_CHECKER_OPS) operations: %e s wall, %U s user, %S s system, %M KiB peak RSS' \
		./$(BIN) check $(BENCH_CHECKER_DIR)/history-$(BENCH_CHECKER_OPS).jsonl
	@echo "load after the check: $$(cut -d' ' -f1-3 /proc/loadavg)"
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench '^BenchmarkHotSeat$$' -benchtime 1x ./checker/

# The driver beside wrk and vegeta against a trivial endpoint, pinned to separate cores.
bench-driver:
	bash bench/driver.sh

# stampede's own bug-finding rate: every broken variant and safe strategy under the gauntlet
# scenario for SELFTEST_SEEDS seeds (variants on PostgreSQL, safe strategies on PostgreSQL and
# MySQL); the matrix goes to $(SELFTEST_OUT)/selftest.md. A seed is 19 runs (11 variants, 4 safe
# strategies x 2 databases) of about 21 s each on an unloaded core (14 s of arrivals, 2.7 s of
# drain, 2 s to start the server, 3 s to settle and check) and 7-9 CPU-seconds each (the
# stampede process, the server, PostgreSQL or MariaDB, Redis). SELFTEST_PARALLEL runs go at once,
# on sets of PostgreSQL, MariaDB and Redis that the runs take turns on (one run on a set at a
# time, a fresh database and an empty Redis each). Measured on the otherwise idle 2-core
# machine, seeds 5..14: six at a time, 859 s in all (14.3 minutes; load average 1.0 at the start,
# 11-14 during), every variant caught in 10 of 10 seeds, 80 of 80 safe runs passing; five at a
# time, 940 s (15.7 minutes), every variant caught in at least 9 of 10 (double-charge 9: one
# seed saw a single lost processor answer), 80 of 80 safe runs passing. Under others' load it needs CPU
# to spare: one seed took 282 s two runs at a time (load 18-32 from the others, every variant
# caught) and 341 s four at a time (load 23-32, three variants missed: servers and Redis came
# back from their crashes too slowly to pay any checkout); lower SELFTEST_PARALLEL there.
# make test runs a reduced one (selftest.TestSelftestReduced).
SELFTEST_SEEDS ?= 10
SELFTEST_PARALLEL ?= 6
SELFTEST_OUT ?= $(CURDIR)/bin/selftest
selftest: build
	rm -rf $(SELFTEST_OUT)
	./$(BIN) selftest scenarios/gauntlet.yaml --seeds $(SELFTEST_SEEDS) --parallel $(SELFTEST_PARALLEL) --db postgres,mysql --out $(SELFTEST_OUT)

# Each strategy beside the database's own ceiling (pgbench, sysbench) for uncontended, hot-seat
# and general-admission holds, the round trips of every operation, medians of 3 rounds (about 11
# minutes on two idle cores); regenerates docs/performance.md. RUNS, DURATION, OPS and
# CONTENDED_OPS tune it.
bench-strategies:
	bash bench/strategies.sh

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

# The regression gate's false alarms and power on this machine (bench/gatecal): a correct
# server gated against itself GATECAL_N times and servers with every hold 20 ms and 2 ms late,
# GATECAL_REPEAT runs a side, bounded by GATECAL_BUDGET; the table goes to bin/gatecal/gatecal.md.
GATECAL_N ?= 20
GATECAL_REPEAT ?= 5
GATECAL_BUDGET ?= 40m
.PHONY: gate-calibrate
gate-calibrate: build
	$(GO) run ./bench/gatecal -stampede $(BIN) -comparisons $(GATECAL_N) -repeat $(GATECAL_REPEAT) -budget $(GATECAL_BUDGET) -out bin/gatecal
