#!/usr/bin/env bash
# Driver efficiency: stampede's driver beside wrk and vegeta against one trivial endpoint on
# loopback, the endpoint pinned to core 0 and each load generator in turn pinned to core 1,
# with the same 64 connections. Prints requests/s of each and the driver's ratios. Rounds are
# interleaved and the median of each tool is reported, because the machine is shared.
#
#   bench/driver.sh                 # 3 rounds of 10 s
#   ROUNDS=5 DURATION=5 bench/driver.sh
#   bench/driver.sh --herd          # also the 1,000,000-user herd (about 4 minutes), peak RSS
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
HERD=0
[[ "${1:-}" == "--herd" ]] && HERD=1

tmp=$(mktemp -d)
trap 'kill ${SERVER_PID:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT

if ! command -v wrk >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -qq wrk >/dev/null
  else
    echo "driver.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1
  fi
fi
go build -o "$tmp/trivial" ./bench/trivial
go build -o "$tmp/drivebench" ./bench/drivebench
GOBIN="$tmp" go install github.com/tsenart/vegeta/v12@v12.13.0

GOMAXPROCS=1 taskset -c 0 "$tmp/trivial" >"$tmp/addr" &
SERVER_PID=$!
for _ in $(seq 50); do [[ -s "$tmp/addr" ]] && break; sleep 0.1; done
URL="http://$(head -1 "$tmp/addr")"
echo "trivial endpoint $URL on core 0; generators on core 1; $CONNS connections; $ROUNDS rounds of ${DURATION}s"

# Each run prints "requests/s requests-per-CPU-second": the first is what the generator
# achieved on its core, the second what it would achieve per core of its own, which is the
# fairer figure on a shared machine (other work on core 1 slows every generator alike, but
# only in the first figure).
cpu_of() { awk '{print $1 + $2}' "$tmp/time"; }
run_wrk() {
  local out; out=$(/usr/bin/time -o "$tmp/time" -f "%U %S" taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL/events")
  local n; n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$out" | awk -v n="$n" -v c="$(cpu_of)" '/Requests\/sec/ {printf "%.0f %.0f\n", $2, n/c}'
}
run_vegeta() {
  echo "GET $URL/events" | GOMAXPROCS=1 /usr/bin/time -o "$tmp/time" -f "%U %S" taskset -c 1 "$tmp/vegeta" attack -rate=0 \
    -max-workers="$CONNS" -connections="$CONNS" -duration="${DURATION}s" >"$tmp/vegeta.bin"
  local c; c=$(cpu_of)
  "$tmp/vegeta" report -type=json <"$tmp/vegeta.bin" |
    sed -n 's/.*"requests":\([0-9]*\).*"throughput":\([0-9.]*\).*/\1 \2/p' |
    awk -v c="$c" '{printf "%.0f %.0f\n", $2, $1/c}'
}
run_driver() {
  local out; out=$(GOMAXPROCS=1 /usr/bin/time -o "$tmp/time" -f "%U %S" taskset -c 1 "$tmp/drivebench" --mode rate \
    --target "$URL" --users "$CONNS" --duration "${DURATION}s" 2>/dev/null)
  echo "$out" | sed -n 's/^requests \([0-9]*\) .* rate \([0-9]*\) req\/s.*/\1 \2/p' |
    awk -v c="$(cpu_of)" '{printf "%.0f %.0f\n", $2, $1/c}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for f in wrk vegeta driver; do : >"$tmp/$f.rate"; : >"$tmp/$f.eff"; done
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for f in wrk vegeta driver; do
    read -r rate eff < <(run_$f)
    echo "$rate" >>"$tmp/$f.rate"; echo "$eff" >>"$tmp/$f.eff"
    line="$line  $f $rate/s ($eff per CPU-s)"
  done
  echo "$line"
done
for f in wrk vegeta driver; do
  eval "${f}_rate=$(median <"$tmp/$f.rate")"; eval "${f}_eff=$(median <"$tmp/$f.eff")"
done
echo "median requests/s:            wrk $wrk_rate  vegeta $vegeta_rate  stampede $driver_rate"
echo "median requests per CPU-second: wrk $wrk_eff  vegeta $vegeta_eff  stampede $driver_eff"
awk -v d="$driver_rate" -v w="$wrk_rate" -v v="$vegeta_rate" -v de="$driver_eff" -v we="$wrk_eff" -v ve="$vegeta_eff" 'BEGIN {
  printf "stampede/wrk    %.2f by rate, %.2f per CPU (goal >= 0.60)\n", d/w, de/we
  printf "stampede/vegeta %.2f by rate, %.2f per CPU (goal >= 1.00)\n", d/v, de/ve }'
echo "(stampede records every request: a history line, two HdrHistograms, per-second metrics)"

if [[ $HERD == 1 ]]; then
  echo "1,000,000-user herd (bench/herd-1m.yaml) against the trivial endpoint, history to $tmp/herd:"
  "$tmp/drivebench" --mode herd --scenario bench/herd-1m.yaml --target "$URL" --out "$tmp/herd" 2>"$tmp/herd.log" || { tail -20 "$tmp/herd.log"; exit 1; }
  grep "go memory" "$tmp/herd.log" || true
  ls -l "$tmp/herd/history.jsonl" | awk '{printf "history %.0f MiB\n", $5/1048576}'
fi
