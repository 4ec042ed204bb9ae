package checkout

import (
	"encoding/json"
	"net/http"
	"testing"
)

// ckSettle: a checkout crashes after the charge; POST /admin/checkout/settle on a fresh server
// resumes it at once (no idle wait) to a booking, and then reports nothing open.
func ckSettle(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	seat := e.seat()
	s1 := e.sess("settle")
	base := e.server(t, nil)
	h := e.hold(t, base, s1, 0, seat)
	if r := ckCheckout(t, e.server(t, crashOnce(crashCharged)), h.ID, s1, "settle-key-01", "card_ok"); !r.dropped {
		t.Fatalf("crash after the charge: got %v, want a dropped connection", r)
	}
	settle := func() (resumed, open int) {
		resp, err := http.Post(base.url+"/admin/checkout/settle", "application/json", nil)
		if err != nil {
			t.Fatalf("POST /admin/checkout/settle: %v", err)
		}
		defer resp.Body.Close()
		var out struct{ Resumed, Open int }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("POST /admin/checkout/settle: %s", resp.Status)
		}
		return out.Resumed, out.Open
	}
	// While the dead execution's lease runs, nothing can be resumed and the key is open.
	if resumed, open := settle(); resumed != 0 || open != 1 {
		t.Fatalf("settle within the lease = resumed %d, open %d; want 0 and 1", resumed, open)
	}
	e.clock.Advance(ckLease + 1) // the lease, not the (longer) idle time
	if resumed, open := settle(); resumed != 1 || open != 0 {
		t.Fatalf("settle after the lease = resumed %d, open %d; want 1 and 0", resumed, open)
	}
	r := ckCheckout(t, base, h.ID, s1, "settle-key-01", "card_ok")
	if !r.replayed {
		t.Fatalf("retry after settle = %v, want the stored answer replayed", r)
	}
	wantBooked(t, r, h.ID)
	e.wantDelta(t, b0, r0, c0, 1, 0, 1)
}
