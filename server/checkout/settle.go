package checkout

import (
	"context"
	"fmt"
	"net/http"

	"stampede/server/api"
)

// Settle resumes every unfinished checkout whose lease is free or expired, whatever its idle
// time, then counts the keys still open. A run calls it (POST /admin/checkout/settle) after the
// herd, so that charges whose client gave up (or whose server crashed) end in a booking or a
// refund before the ledgers are compared. Without a database, strategy or processor there is
// nothing to settle.
func (c *Service) Settle(ctx context.Context) (resumed, open int, err error) {
	if !c.ready() {
		return 0, 0, nil
	}
	for range 100 { // bounded: each pass resumes at most a batch
		n, err := c.completeIdle(ctx, 0)
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

// HandleSettle is POST /admin/checkout/settle: 200 with {"resumed": N, "open": M}.
func (c *Service) HandleSettle(w http.ResponseWriter, r *http.Request) {
	resumed, open, err := c.Settle(r.Context())
	if err != nil {
		c.table.Write(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]int{"resumed": resumed, "open": open})
}
