package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"stampede/internal/proc"
)

// Want says which services an Env starts. The zero value starts nothing.
type Want struct {
	Postgres bool
	MySQL    bool
	Redis    bool
}

// Env is a set of services started together in one temporary directory: what one run asks
// for. The fields of a service that was not wanted are nil and empty. Close kills every
// process and removes the directory; the processes also die with stampede (Pdeathsig), so an
// interrupted run leaves none behind, only the directory.
type Env struct {
	// Dir holds every service's files; Close removes it.
	Dir string

	Postgres    *Process
	PostgresURL string // postgres://postgres@127.0.0.1:PORT/stampede?sslmode=disable

	MySQL    *Process // MariaDB, or MySQL where that is what is installed
	MySQLDSN string   // mysql://root@tcp(127.0.0.1:PORT)/stampede

	Redis    *Process
	RedisURL string // redis://127.0.0.1:PORT/0

	closeOnce sync.Once
	closeErr  error
}

// StartEnv creates a directory under parent (os.TempDir() when empty) and starts the wanted
// services in it, concurrently. When any fails to start, the others are torn down, the
// directory removed, and the errors returned joined.
func StartEnv(ctx context.Context, parent string, want Want) (*Env, error) {
	if !want.Postgres && !want.MySQL && !want.Redis {
		return nil, errors.New("start local services: none wanted")
	}
	dir, err := os.MkdirTemp(parent, "stampede-")
	if err != nil {
		return nil, fmt.Errorf("start local services: %w", err)
	}
	e := &Env{Dir: dir}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	if want.Postgres {
		start(func() (err error) {
			e.Postgres, e.PostgresURL, err = StartPostgres(ctx, dir)
			return err
		})
	}
	if want.MySQL {
		start(func() (err error) {
			e.MySQL, e.MySQLDSN, err = StartMariaDB(ctx, dir)
			return err
		})
	}
	if want.Redis {
		start(func() error {
			p, err := proc.StartRedis(ctx, dir)
			if err != nil {
				return err
			}
			e.Redis, e.RedisURL = p, proc.RedisURL(p)
			return nil
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		if err := e.Close(); err != nil {
			errs = append(errs, err)
		}
		return nil, fmt.Errorf("start local services: %w", errors.Join(errs...))
	}
	return e, nil
}

// Processes returns the started processes, PostgreSQL, MySQL, Redis in that order, skipping
// those not wanted.
func (e *Env) Processes() []*Process {
	var out []*Process
	for _, p := range []*Process{e.Postgres, e.MySQL, e.Redis} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Close kills every process (each with its whole process group) and removes Dir. It is safe
// to call more than once and from several goroutines; later calls return the first result.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		for _, p := range e.Processes() {
			if err := p.Kill(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.RemoveAll(e.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", e.Dir, err))
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
