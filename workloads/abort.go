package workloads

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrAllFailing is the cause of a run aborted by Config.AbortOnFail: for that long, every
// request that completed ended in an error.
var ErrAllFailing = errors.New("every request failed")

// watchFailures returns a context derived from ctx that is cancelled, with a cause wrapping
// ErrAllFailing, once every request completed during the last AbortOnFail (measured on the
// per-second metrics windows from began) was an error (Summary.Errors: an unknown outcome, or a
// failure that is not a business answer of the contract). A window with any other outcome
// starts the count again; a window in which nothing completed changes nothing. The returned
// func stops the watch. Without AbortOnFail, ctx is returned as it is.
//
// It is k6's abortOnFail for the one case a load test has nothing to learn from: a target that
// is down, refusing or timing out every request.
func (d *Driver) watchFailures(ctx context.Context, began int64) (context.Context, func()) {
	window := d.cfg.AbortOnFail
	if window <= 0 {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond) // a window closes once a second
		defer t.Stop()
		prev := float64(began) / float64(time.Second) // the end of the last window seen
		since := -1.0                                 // the start of the failing streak, or -1
		var failed int64
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			l := d.rec.lastLine()
			if l.T <= prev {
				continue
			}
			start := prev
			prev = l.T
			switch {
			case l.Requests == 0:
			case l.Errors < l.Requests:
				since, failed = -1, 0
			default:
				if since < 0 {
					since = start
				}
				failed += l.Requests
				if el := time.Duration((l.T - since) * float64(time.Second)); el >= window {
					cancel(fmt.Errorf("%w for %s (%d requests in a row, none ok or refused): is the target up?", ErrAllFailing, el.Round(time.Second), failed))
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(stop)
		<-done
		cancel(nil)
	}
}
