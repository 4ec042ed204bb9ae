package run

import (
	"context"
	"time"

	"stampede/reports"
	"stampede/sut"
)

// shadowWait bounds how long a run waits, after the herd has settled, for the shadow strategy to
// replay what is still queued for it; what is left then is reported as pending.
const shadowWait = 30 * time.Second

// shadowReport reads the reference server's shadow report once the shadow has caught up with the
// run (nothing pending) or shadowWait has passed.
func shadowReport(ctx context.Context, srv sut.Server) (*reports.Shadow, error) {
	deadline := time.Now().Add(shadowWait)
	for {
		b, err := srv.Shadow(ctx)
		if err != nil {
			return nil, err
		}
		sh, err := reports.DecodeShadow(b)
		if err != nil {
			return nil, err
		}
		if sh.Pending == 0 || time.Now().After(deadline) {
			return sh, nil
		}
		select {
		case <-ctx.Done():
			return sh, nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
