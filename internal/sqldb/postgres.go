package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

type pgDB struct {
	pool    *pgxpool.Pool
	metrics *Metrics
	max     int
	rebound sync.Map // query -> rebound query
}

var _ DB = (*pgDB)(nil)

func openPostgres(ctx context.Context, dsn string, opts Options) (DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url %q: %w", redact(dsn), err)
	}
	cfg.MaxConns = int32(opts.MaxConns)
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %q: %w", redact(dsn), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %q: %w", redact(dsn), err)
	}
	return &pgDB{pool: pool, metrics: opts.Metrics, max: opts.MaxConns}, nil
}

func (d *pgDB) Dialect() Dialect      { return Postgres }
func (d *pgDB) Metrics() *Metrics     { return d.metrics }
func (d *pgDB) MaxConns() int         { return d.max }
func (d *pgDB) OpenConns() int        { return int(d.pool.Stat().TotalConns()) }
func (d *pgDB) SetMaxConns(int) error { return ErrUnsupported }
func (d *pgDB) Close()                { d.pool.Close() }

// Pool exposes the pgx pool for code that needs PostgreSQL-only features.
func (d *pgDB) Pool() *pgxpool.Pool { return d.pool }

// rebind turns ? placeholders into $1, $2, ... and adds the tag comment.
func (d *pgDB) rebind(tag, q string) string {
	key := tag + "\x00" + q
	if v, ok := d.rebound.Load(key); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 32)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := tagged(tag, b.String())
	d.rebound.Store(key, out)
	return out
}

// acquire takes a connection for tag; release gives it back and records the wait, the hold
// and what the *Trips it returns counted.
func (d *pgDB) acquire(ctx context.Context, tag string) (*pgxpool.Conn, *Trips, func(), error) {
	start := time.Now()
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("acquire connection (%s): %w", tag, err)
	}
	got := time.Now()
	n := &Trips{}
	return c, n, func() {
		c.Release()
		d.metrics.observe(tag, got.Sub(start), time.Since(got), *n)
	}, nil
}

func (d *pgDB) Exec(ctx context.Context, tag, q string, args ...any) (int64, error) {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return 0, err
	}
	defer release()
	return pgQuerier{c: c.Conn(), db: d, tag: tag, n: n}.Exec(ctx, q, args...)
}

func (d *pgDB) Query(ctx context.Context, tag, q string, scan func(Rows) error, args ...any) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return pgQuerier{c: c.Conn(), db: d, tag: tag, n: n}.Query(ctx, q, scan, args...)
}

func (d *pgDB) QueryRow(ctx context.Context, tag, q string, dest []any, args ...any) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return pgQuerier{c: c.Conn(), db: d, tag: tag, n: n}.QueryRow(ctx, q, dest, args...)
}

func (d *pgDB) Tx(ctx context.Context, tag string, fn func(Tx) error) error {
	return retryTx(ctx, pgRetryable, func() error { return d.TxOnce(ctx, tag, fn) })
}

func (d *pgDB) TxOnce(ctx context.Context, tag string, fn func(Tx) error) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	n.control()
	tx, err := c.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin (%s): %w", tag, err)
	}
	if err := fn(pgQuerier{c: tx, db: d, tag: tag, n: n}); err != nil {
		// A rollback error is secondary: the connection is discarded by pgx if broken.
		n.control()
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	n.control()
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit (%s): %w", tag, err)
	}
	return nil
}

func (d *pgDB) Conn(ctx context.Context, tag string, fn func(Querier) error) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return fn(pgQuerier{c: c.Conn(), db: d, tag: tag, n: n})
}

// pgConn is what a pgx.Conn and a pgx.Tx have in common.
type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

type pgQuerier struct {
	c   pgConn
	db  *pgDB
	tag string
	n   *Trips
}

func (q pgQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	q.n.statement()
	ct, err := q.c.Exec(ctx, q.db.rebind(q.tag, query), args...)
	if err != nil {
		return 0, err
	}
	return ct.RowsAffected(), nil
}

func (q pgQuerier) Query(ctx context.Context, query string, scan func(Rows) error, args ...any) error {
	q.n.statement()
	rows, err := q.c.Query(ctx, q.db.rebind(q.tag, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

func (q pgQuerier) QueryRow(ctx context.Context, query string, dest []any, args ...any) error {
	q.n.statement()
	rows, err := q.c.Query(ctx, q.db.rebind(q.tag, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scanOne(rows, dest); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// Batch queues the statements in a pgx batch: one round trip, and outside a transaction one
// implicit transaction (the batch ends with a single Sync).
func (q pgQuerier) Batch(ctx context.Context, stmts []Stmt, scan func(Rows) error) error {
	if err := batchOf(q.n, stmts); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(q.db.rebind(q.tag, s.SQL), s.Args...)
	}
	res := q.c.SendBatch(ctx, b)
	defer res.Close()
	for range stmts[:len(stmts)-1] {
		if _, err := res.Exec(); err != nil {
			return err
		}
	}
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return res.Close()
}

// pgRetryable reports serialization failures (40001) and deadlocks (40P01), after which the
// whole transaction may run again.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func pgUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
