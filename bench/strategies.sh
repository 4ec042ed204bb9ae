#!/usr/bin/env bash
# Each strategy beside its database's own ceiling, same run: pgbench (PostgreSQL) and sysbench
# (MySQL/MariaDB; installed with apt-get when missing and allowed) run the same statements at
# the same concurrency as the strategies' Go benchmarks, for uncontended random seats (the
# conditional UPDATE alone, also with pgbench's prepared statements: the case "prepared";
# pessimistic's SELECT ... FOR UPDATE and UPDATE in one transaction: "locked"; the UPDATE and
# the hold row it records, in one transaction: "hold"; skip-locked's SKIP LOCKED claim and its
# UPDATE in one statement, with no hold row: "skip"), a hot set of ten seats, and general
# admission under contention (a counter row, and unit rows claimed with SKIP LOCKED). Rounds are
# interleaved and every figure is the median of RUNS rounds, because the machine is shared;
# ratios are of medians from the same invocation. The round trips of every operation come from
# TestRoundTrips. Writes docs/performance.md (OUT).
#
# A Go benchmark round of the uncontended and HTTP cases runs OPS holds: 20,000 last one to a
# few seconds on two idle cores, as the tools' rounds do, where 1,000 (a tenth of a second)
# measured mostly the start and the end of the round. The contended cases, whose rates are
# lower, run CONTENDED_OPS.
#
#   bench/strategies.sh                      # 3 rounds, 5 s per tool case, 20,000 and 2,000 Go ops
#   RUNS=5 DURATION=10 OPS=50000 bench/strategies.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust, database test) and MariaDB/MySQL on
# 127.0.0.1:3306 (root, no password, database test), as the tests do (PG_URL / MYSQL_HOST).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
OPS=${OPS:-20000}
CONTENDED_OPS=${CONTENDED_OPS:-2000}
CLIENTS=${CLIENTS:-32}   # = the Go benchmarks' 16 goroutines per CPU on 2 CPUs
ROWS=${ROWS:-200000}
OUT=${OUT:-docs/performance.md}
PGHOST=${PGHOST:-127.0.0.1}
MYHOST=${MYSQL_HOST:-127.0.0.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
res="$tmp/results.tsv"
: >"$res"

psqlq() { psql -q -X -v ON_ERROR_STOP=1 -h "$PGHOST" -U postgres test "$@"; }
myq() { mysql -h "$MYHOST" -uroot test "$@"; }

if ! command -v sysbench >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing sysbench" >&2
    apt-get install -y -qq sysbench >/dev/null || { apt-get update -qq && apt-get install -y -qq sysbench >/dev/null; }
  fi
fi
have_sysbench=0
command -v sysbench >/dev/null && have_sysbench=1
[[ $have_sysbench == 1 ]] || echo "strategies.sh: no sysbench: the MySQL peers are left out" >&2

echo "preparing the peers' tables ($ROWS rows)" >&2
psqlq -f bench/strategies/peer.sql 2>/dev/null
psqlq -c "INSERT INTO peer_seats SELECT g, 'available' FROM generate_series(1, $ROWS) g; INSERT INTO peer_tier VALUES (1, 1000000000); INSERT INTO peer_units SELECT g, 'available' FROM generate_series(1, $ROWS) g;"
psqlq -c "VACUUM ANALYZE peer_seats" && psqlq -c "VACUUM ANALYZE peer_units"
myq <bench/strategies/peer.sql
fill="INSERT INTO peer_seats (id, status) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS) SELECT n, 'available' FROM g;
  INSERT INTO peer_units (id, status) SELECT id, 'available' FROM peer_seats; INSERT INTO peer_tier VALUES (1, 1000000000);"
# MariaDB bounds recursion with max_recursive_iterations, MySQL 8 with cte_max_recursion_depth.
myq -e "SET SESSION max_recursive_iterations = $ROWS + 1; $fill" 2>/dev/null ||
  myq -e "SET SESSION cte_max_recursion_depth = $ROWS + 1; $fill"

reset_peers() {
  psqlq -c "TRUNCATE peer_holds; UPDATE peer_seats SET status = 'available', hold_id = NULL, expires_at = NULL WHERE status <> 'available'; UPDATE peer_units SET status = 'available', hold_id = NULL WHERE status <> 'available';"
  myq -e "TRUNCATE peer_holds; UPDATE peer_seats SET status = 'available', hold_id = NULL, expires_at = NULL WHERE status <> 'available'; UPDATE peer_units SET status = 'available', hold_id = NULL WHERE status <> 'available';"
}

# Go benchmark lines become rows: run, database, case, who, rate, round trips per operation.
gobench() { # run case regexp pkg ops
  local run=$1 kase=$2
  go test -run '^$' -bench "$3" -benchtime "${5}x" -count 1 -timeout 20m "$4" 2>&1 | tee -a "$tmp/go.log" |
    awk -v run="$run" -v kase="$kase" -F'[ \t]+' '/^Benchmark/ {
      split($1, p, "/"); sub(/-[0-9]+$/, "", p[length(p)])
      rate = ""; trips = ""
      for (i = 3; i < NF; i += 2) { if ($(i+1) ~ /\/s$/) rate = $i; if ($(i+1) == "trips/op") trips = $i }
      if (p[1] == "BenchmarkHoldPeer") { db = p[2]; who = "sqldb-update" }
      else if (p[1] == "BenchmarkHoldHTTP") { db = p[2]; who = p[3] }
      else { db = p[3]; who = p[2] }
      if (rate != "") printf "%s\t%s\t%s\t%s\t%s\t%s\n", run, db, kase, who, rate, trips
    }' >>"$res"
}

go test -count=1 -run '^TestRoundTrips$' -v ./strategies/ | awk -F'\t' '/trips\t/ {print "trips\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7}' >"$tmp/trips.tsv"

for run in $(seq 1 "$RUNS"); do
  echo "round $run of $RUNS" >&2
  for kase in uncontended prepared locked hold skip hot ga-counter ga-skip; do
    reset_peers
    # "prepared" is the uncontended UPDATE over pgbench's prepared statements (pgx prepares
    # every statement too): the higher of PostgreSQL's two ceilings. sysbench has no such mode
    # for a script's queries.
    script=$kase mode=simple
    [[ $kase == prepared ]] && script=uncontended mode=prepared
    tps=$(pgbench -n -M "$mode" -h "$PGHOST" -U postgres -c "$CLIENTS" -j 8 -T "$DURATION" -D rows="$ROWS" -f "bench/strategies/pg-$script.sql" test 2>/dev/null |
      awk '/^tps/ {print $3}')
    printf "%s\tpostgres\t%s\tpgbench\t%s\t\n" "$run" "$kase" "${tps:-0}" >>"$res"
    [[ $kase == prepared ]] && continue
    if [[ $have_sysbench == 1 ]]; then
      tps=$(sysbench bench/strategies/my.lua --case="$kase" --rows="$ROWS" --db-driver=mysql --mysql-host="$MYHOST" --mysql-user=root \
        --mysql-db=test --threads="$CLIENTS" --time="$DURATION" run 2>/dev/null | awk '/transactions:/ {gsub(/\(/, "", $3); print $3}')
      printf "%s\tmysql\t%s\tsysbench\t%s\t\n" "$run" "$kase" "${tps:-0}" >>"$res"
    fi
  done
  gobench "$run" uncontended 'BenchmarkHold$|BenchmarkHoldPeer' ./strategies/ "$OPS"
  gobench "$run" hot 'BenchmarkHotHold' ./strategies/ "$CONTENDED_OPS"
  gobench "$run" ga 'BenchmarkGAHold' ./strategies/ "$CONTENDED_OPS"
  gobench "$run" http 'BenchmarkHoldHTTP' ./server/ "$OPS"
done

mkdir -p "$(dirname "$OUT")"
go run ./bench/strategies/perfdoc -results "$res" -trips "$tmp/trips.tsv" -runs "$RUNS" -duration "$DURATION" -ops "$OPS" -contended-ops "$CONTENDED_OPS" \
  -clients "$CLIENTS" -rows "$ROWS" -keep "$OUT" \
  -machine "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  -versions "$(psql -X -At -h "$PGHOST" -U postgres test -c 'SHOW server_version' | cut -d' ' -f1) (PostgreSQL); $(myq -N -e 'SELECT VERSION()'); $(pgbench --version); $( [[ $have_sysbench == 1 ]] && sysbench --version); $(go version | cut -d' ' -f3)" \
  >"$tmp/performance.md"
mv "$tmp/performance.md" "$OUT"
echo "wrote $OUT" >&2
