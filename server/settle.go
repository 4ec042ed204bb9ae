package server

import (
	"context"
	"fmt"
	"net/http"
)

// settle resumes every unfinished checkout whose lease is free or expired, whatever its idle
// time, then counts the keys still open. A run calls it after the herd, so that charges whose
// client gave up (or whose server crashed) end in a booking or a refund before the ledgers are
// compared.
func (s *Server) settle(ctx context.Context) (resumed, open int, err error) {
	c := s.checkout
	if c.keys.db == nil || c.psp == nil || s.cfg.Strategy == nil {
		return 0, 0, nil
	}
	for range 100 { // bounded: each pass resumes at most a batch
		n, err := s.completeIdle(ctx, 0)
		if err != nil {
			return resumed, 0, err
		}
		resumed += n
		if n == 0 {
			break
		}
	}
	args := append([]any{}, openPhases...)
	if err := c.keys.db.QueryRow(ctx, connTagIdempotency,
		"SELECT COUNT(*) FROM idempotency_keys WHERE phase IN (?, ?, ?, ?, ?)", []any{&open}, args...); err != nil {
		return resumed, 0, fmt.Errorf("count open idempotency keys: %w", err)
	}
	return resumed, open, nil
}

// handleSettle is POST /admin/checkout/settle.
func (s *Server) handleSettle(w http.ResponseWriter, r *http.Request) {
	resumed, open, err := s.settle(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"resumed": resumed, "open": open})
}
