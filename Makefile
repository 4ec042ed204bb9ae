# stampede: see README.md. Every target is bounded in time; long matrices have their own.
GO        ?= go
BIN       ?= bin/stampede
PKGS      ?= ./...
TEST_FLAGS ?= -race -count=1 -timeout 14m

.PHONY: build test lint demo bench chaos-matrix clean

build:
	$(GO) build -o $(BIN) ./cmd/stampede

test:
	$(GO) test $(TEST_FLAGS) $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

demo: build
	./$(BIN) run

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m $(PKGS)

chaos-matrix:
	STAMPEDE_CHAOS_MATRIX=long $(GO) test -count=1 -timeout 60m -run 'Matrix' ./chaos/...

clean:
	rm -rf bin
