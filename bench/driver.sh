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

run_wrk() {
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL/events" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}
run_vegeta() {
  echo "GET $URL/events" | GOMAXPROCS=1 taskset -c 1 "$tmp/vegeta" attack -rate=0 -max-workers="$CONNS" \
    -connections="$CONNS" -duration="${DURATION}s" | "$tmp/vegeta" report -type=json |
    sed -n 's/.*"throughput":\([0-9.]*\).*/\1/p' | awk '{printf "%.0f\n", $1}'
}
run_driver() {
  GOMAXPROCS=1 taskset -c 1 "$tmp/drivebench" --mode rate --target "$URL" --users "$CONNS" \
    --duration "${DURATION}s" 2>/dev/null | sed -n 's/.* rate \([0-9]*\) req\/s.*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/wrk"; : >"$tmp/vegeta.txt"; : >"$tmp/driver"
for r in $(seq "$ROUNDS"); do
  w=$(run_wrk); v=$(run_vegeta); d=$(run_driver)
  echo "round $r: wrk $w  vegeta $v  stampede $d  (requests/s)"
  echo "$w" >>"$tmp/wrk"; echo "$v" >>"$tmp/vegeta.txt"; echo "$d" >>"$tmp/driver"
done
W=$(median <"$tmp/wrk"); V=$(median <"$tmp/vegeta.txt"); D=$(median <"$tmp/driver")
echo "median: wrk $W  vegeta $V  stampede $D requests/s"
awk -v d="$D" -v w="$W" -v v="$V" 'BEGIN {printf "stampede/wrk %.2f (goal >= 0.60)  stampede/vegeta %.2f (goal >= 1.00)\n", d/w, d/v}'
echo "(stampede records every request: history lines, two HdrHistograms, per-second metrics)"

if [[ $HERD == 1 ]]; then
  echo "1,000,000-user herd (bench/herd-1m.yaml) against the trivial endpoint, history to $tmp/herd:"
  "$tmp/drivebench" --mode herd --scenario bench/herd-1m.yaml --target "$URL" --out "$tmp/herd" 2>"$tmp/herd.log" || { tail -20 "$tmp/herd.log"; exit 1; }
  ls -l "$tmp/herd/history.jsonl" | awk '{printf "history %.0f MiB\n", $5/1048576}'
fi
