#!/usr/bin/env bash
# Every fuzz target of the tree (func Fuzz* in a _test.go file), each fuzzed for FUZZTIME, one
# after another (make fuzz). An input that fails is written to the package's testdata/fuzz and
# fails the run: keep it, it is the regression test.
#
# Go's fuzzing coordinator can end a duration-bounded run with a bare "context deadline
# exceeded" when -fuzztime elapses while a worker is still executing an input (go.dev/issue/75804,
# fixed in Go 1.27): no input failed and none was written. Such an end is told apart from a
# finding by what the run printed and wrote, and the target is fuzzed again, up to RETRIES more
# times; a finding, a panic or any other failure fails at once.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
RETRIES=${RETRIES:-2}
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# boundary_race reports whether the failed run in $log ended only on the coordinator's deadline.
boundary_race() {
  grep -q 'context deadline exceeded' "$log" &&
    ! grep -qE 'Failing input written|panic:|^\s+[A-Za-z0-9_]+\.go:[0-9]+:' "$log"
}

n=0
for f in $(grep -rl --include='*_test.go' --exclude-dir=bin --exclude-dir=.git '^func Fuzz' . | sort); do
  dir=$(dirname "$f")
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
    n=$((n + 1))
    try=0
    while :; do
      echo "== $name in $dir for $FUZZTIME"
      if "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$dir/" 2>&1 | tee "$log"; then
        break
      fi
      if boundary_race && [ "$try" -lt "$RETRIES" ]; then
        try=$((try + 1))
        echo "== $name: the run ended on the fuzzing deadline with no failing input (go.dev/issue/75804); fuzzing it again ($try of $RETRIES)"
        continue
      fi
      echo "FAIL: $name in $dir" >&2
      exit 1
    done
  done
done
echo "fuzzed $n targets for $FUZZTIME each"
