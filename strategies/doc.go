// Package strategies holds the Strategy interface and the concurrency strategies of the
// reference booking server (pessimistic, status-expiry, redis-lock, skip-locked and the unsafe
// naive), each on PostgreSQL and MySQL through internal/sqldb, plus the inventory store shared by
// all of them and the embedded schema migrations.
//
// # Files
//
// The contract and how strategies are built: strategy.go (the Strategy interface, its optional
// capabilities, the request, hold and booking types and the sentinel errors), registry.go
// (Deps, DefaultHoldTTL and the one registry of strategies by name), event.go and store.go
// (events, their seats and tiers, and the reads every strategy shares), migrate.go with
// migrations/ (the schema, one directory of SQL files per dialect on purpose).
//
// What the SQL strategies share, one noun a file: request.go (checking a hold request:
// limits, FieldError, seat lock order, the TTL), sql.go (connection tags, ids, the comma lists
// stored in TEXT columns, placeholders, the database's time), sqlbase.go (sqlBase, embedded by
// the SQL strategies: the clock, GetHold, Holds, Availability), holds.go (the holds table and
// the implicit-status rule of expiry), seats.go (seat rows: reading, judging, marking held or
// sold, and UnavailableError), ga_tiers.go (the general-admission tier counters: locking,
// taking, reclaiming expired holds, selling), bookings.go (booking writes and the optional
// UNIQUE safety net), hold_statement.go (a hold of seats in one PostgreSQL statement or one
// MySQL batch), hold_group.go (concurrent single-seat holds sharing MySQL batches), release.go
// (the one Release of the SQL strategies) and sweep.go (the sweeper of expired holds).
//
// One file a strategy, or a few when it is large: pessimistic.go, status_expiry.go, naive.go
// and broken.go (the variants broken on purpose, for the checker to catch); skip_locked.go (the
// type, its options, Run, Sweep and Availability), skip_locked_hold.go (seat and unit holds
// with SKIP LOCKED), skip_locked_pool.go (the pool of GA unit rows: claiming and minting) and
// skip_locked_confirm.go; redis_lock.go (the type, its options and its Redis keys),
// redis_lock_seed.go (events cached in memory and their keys seeded from the database after a
// restart, where the fencing counter starts), redis_lock_hold.go (the Lua claims and the reads
// of Redis holds), redis_lock_confirm.go (the lock checks, the fenced sale and its recording)
// and lua/ (the scripts).
//
// # Time
//
// Every strategy reads one application clock (Deps.Now), never the database's, so that both
// dialects and Redis agree and tests can move it. The holds of the safe SQL strategies read it
// inside their transaction, once its connection is held (pessimistic: once its rows are
// locked): a hold that waited for a busy pool must judge other holds' expiry by the time its
// statements run, not by the time its request arrived.
package strategies
