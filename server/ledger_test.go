package server

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestLedgerShowsRefunds: GET /admin/ledger lists the refunds checkout recorded for the event's
// holds (not its charges, not other events' refunds), in the fields the checker reads.
func TestLedgerShowsRefunds(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "status-expiry", tdb)
	id, other := e.createEvent(), e.createEvent()
	h := e.holdSeats(id, "alice", "A-1-1")
	for _, p := range []struct{ id, kind, event string }{
		{"ch_1", "charge", id},
		{"re_1", "refund", id},
		{"re_2", "refund", other},
	} {
		if _, err := tdb.db.Exec(context.Background(), "test", `INSERT INTO checkout_payments
			(id, kind, charge_id, event_id, hold_id, session, idem_key, amount_cents, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.id, p.kind, "ch_1", p.event, h.HoldID, "alice", "key-12345678", 5000, "hold_lost", time.Now().UTC()); err != nil {
			t.Fatalf("record %s %s: %v", p.kind, p.id, err)
		}
	}
	var l struct {
		Refunds []map[string]any `json:"refunds"`
	}
	e.must(http.StatusOK, http.MethodGet, "/admin/ledger?event="+id, "", nil).decode(t, &l)
	want := []map[string]any{{"refund_id": "re_1", "charge_id": "ch_1", "hold_id": h.HoldID, "amount_cents": 5000.0, "reason": "hold_lost"}}
	if !reflect.DeepEqual(l.Refunds, want) {
		t.Errorf("ledger refunds = %v, want %v", l.Refunds, want)
	}
}
