package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"stampede/internal/sqldb"
	"stampede/server/api"
)

// The pool-exhaustion fault: PUT /admin/pool-hog makes the server hold some of its own pooled
// database connections in idle transactions (tagged conn_tag:chaos), so that requests wait for
// a connection the way they do when a slow dependency keeps connections busy. Hogging from
// inside is what starves the pool; connections opened from outside would only load the database.

// errHogReleased ends a hogging transaction.
var errHogReleased = errors.New("pool hog released")

// hogAcquireLimit bounds how long PUT /admin/pool-hog waits to take its connections.
const hogAcquireLimit = 10 * time.Second

// poolHog is the set of connections currently hogged. It is safe for concurrent use.
type poolHog struct {
	// op serialises PUT and DELETE, so that two hogs never overlap.
	op sync.Mutex
	mu sync.Mutex
	// release ends the current hog's transactions; nil when nothing is hogged.
	release context.CancelFunc
	// done is closed when every hogging transaction has ended and given its connection back.
	done  chan struct{}
	conns int
}

// poolHogRequest is the body of PUT /admin/pool-hog.
type poolHogRequest struct {
	// Conns is how many connections to hold; 0 means the whole pool but one.
	Conns int `json:"conns"`
}

// poolHogStatus is the answer of PUT /admin/pool-hog.
type poolHogStatus struct {
	Conns    int `json:"conns"`
	MaxConns int `json:"max_conns"`
}

// handlePoolHog is PUT /admin/pool-hog {"conns": N}: it replaces any current hog by one holding
// N connections (0: the pool size minus one) and answers 200 once all of them are held, or 503
// when they could not all be taken within hogAcquireLimit (then none is held).
func (s *Server) handlePoolHog(w http.ResponseWriter, r *http.Request) {
	var req poolHogRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	size := s.cfg.DB.MaxConns()
	n := req.Conns
	if n == 0 {
		n = size - 1
	}
	if n < 0 || n > size {
		writeError(w, r, api.Invalid("conns", "conns: want 0..%d (the pool size; 0 means all but one), got %d", size, req.Conns))
		return
	}
	s.hog.op.Lock()
	defer s.hog.op.Unlock()
	s.hog.stop()
	if err := s.hog.start(r.Context(), s.cfg.DB, n); err != nil {
		writeError(w, r, fmt.Errorf("hog %d connections: %w: %w", n, api.ErrUnavailable, err))
		return
	}
	api.Logger(r.Context()).Warn("pool hog: holding database connections", "conns", n, "pool", size)
	api.WriteJSON(w, http.StatusOK, poolHogStatus{Conns: n, MaxConns: size})
}

// handlePoolRelease is DELETE /admin/pool-hog: 204 once every hogged connection is back in the
// pool (also when nothing was hogged).
func (s *Server) handlePoolRelease(w http.ResponseWriter, r *http.Request) {
	s.hog.op.Lock()
	defer s.hog.op.Unlock()
	if n := s.hog.stop(); n > 0 {
		api.Logger(r.Context()).Warn("pool hog: released database connections", "conns", n)
	}
	w.WriteHeader(http.StatusNoContent)
}

// start takes n connections, each in a transaction that stays open until stop. It returns once
// all are held; if ctx ends or hogAcquireLimit passes first, it gives back what it took.
func (h *poolHog) start(ctx context.Context, db sqldb.DB, n int) error {
	hogCtx, release := context.WithCancel(context.Background())
	done := make(chan struct{})
	held := make(chan struct{}, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.TxOnce(hogCtx, "chaos", func(tx sqldb.Tx) error {
				if _, err := tx.Exec(hogCtx, "SELECT 1"); err != nil {
					return err
				}
				held <- struct{}{}
				<-hogCtx.Done()
				// An error makes the transaction roll back on a context of its own, so the
				// connection goes back to the pool clean rather than being discarded.
				return errHogReleased
			})
			if err != nil && !errors.Is(err, errHogReleased) && hogCtx.Err() == nil {
				errs <- err
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	h.mu.Lock()
	h.release, h.done, h.conns = release, done, n
	h.mu.Unlock()

	limit := time.NewTimer(hogAcquireLimit)
	defer limit.Stop()
	for got := 0; got < n; {
		select {
		case <-held:
			got++
		case err := <-errs:
			h.stop()
			return err
		case <-limit.C:
			h.stop()
			return fmt.Errorf("took %d of %d connections in %s", got, n, hogAcquireLimit)
		case <-ctx.Done():
			h.stop()
			return ctx.Err()
		}
	}
	return nil
}

// stop ends the current hog, waits until its connections are back, and returns how many it
// held.
func (h *poolHog) stop() int {
	h.mu.Lock()
	release, done, n := h.release, h.done, h.conns
	h.release, h.done, h.conns = nil, nil, 0
	h.mu.Unlock()
	if release == nil {
		return 0
	}
	release()
	<-done
	return n
}

// runPoolHog gives hogged connections back when the server stops, so that closing the pool
// does not wait for them.
func (s *Server) runPoolHog(ctx context.Context) error {
	<-ctx.Done()
	s.hog.stop()
	return nil
}
