// Package strategies holds the Strategy interface and the concurrency strategies of the
// reference booking server (pessimistic, status-expiry, redis-lock, skip-locked and the unsafe
// naive), each on PostgreSQL and MySQL through internal/sqldb, plus the inventory store shared by
// all of them and the embedded schema migrations.
package strategies
