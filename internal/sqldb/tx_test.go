package sqldb

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestRetryTx(t *testing.T) {
	errRetry := errors.New("retry me")
	errFinal := errors.New("final")
	retryable := func(err error) bool { return errors.Is(err, errRetry) }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name  string
		ctx   context.Context
		errs  []error // what each attempt returns; the last one repeats
		calls int
		want  error
	}{
		{"success at once", context.Background(), []error{nil}, 1, nil},
		{"success after two retryable errors", context.Background(), []error{errRetry, errRetry, nil}, 3, nil},
		{"an error that is not retryable ends the loop", context.Background(), []error{errRetry, errFinal}, 2, errFinal},
		{"retryable errors stop after maxTxAttempts", context.Background(), []error{errRetry}, maxTxAttempts, errRetry},
		{"a done context stops the retries", cancelled, []error{errRetry}, 1, errRetry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := retryTx(c.ctx, retryable, func() error {
				e := c.errs[min(calls, len(c.errs)-1)]
				calls++
				return e
			})
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Errorf("retryTx = %v, want %v", err, c.want)
			}
			if calls != c.calls {
				t.Errorf("retryTx called its transaction %d times, want %d", calls, c.calls)
			}
		})
	}
}

func TestRetryablePerDialect(t *testing.T) {
	cases := []struct {
		name      string
		retryable func(error) bool
		err       error
		want      bool
	}{
		{"postgres serialization failure", pgRetryable, &pgconn.PgError{Code: "40001"}, true},
		{"postgres deadlock", pgRetryable, fmt.Errorf("update: %w", &pgconn.PgError{Code: "40P01"}), true},
		{"postgres unique violation", pgRetryable, &pgconn.PgError{Code: "23505"}, false},
		{"postgres given a mysql deadlock", pgRetryable, &mysql.MySQLError{Number: 1213}, false},
		{"mysql deadlock", mysqlRetryable, &mysql.MySQLError{Number: 1213}, true},
		{"mysql lock wait timeout", mysqlRetryable, fmt.Errorf("update: %w", &mysql.MySQLError{Number: 1205}), true},
		{"mysql duplicate key", mysqlRetryable, &mysql.MySQLError{Number: 1062}, false},
		{"mysql given a postgres deadlock", mysqlRetryable, &pgconn.PgError{Code: "40P01"}, false},
		{"plain error", mysqlRetryable, errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.retryable(c.err); got != c.want {
				t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestUniqueViolation(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"postgres unique violation", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), true},
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, false},
		{"mysql duplicate key", fmt.Errorf("insert: %w", &mysql.MySQLError{Number: 1062}), true},
		{"mysql duplicate index name", &mysql.MySQLError{Number: 1061}, false},
		{"plain error", errors.New("duplicate"), false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := UniqueViolation(c.err); got != c.want {
				t.Errorf("UniqueViolation(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
