package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDerivedKeys(t *testing.T) {
	c1, r1 := derivedKeys("sess-a", "key-12345678")
	c2, r2 := derivedKeys("sess-a", "key-12345678")
	if c1 != c2 || r1 != r2 {
		t.Fatalf("derivedKeys is not stable: %s %s then %s %s", c1, r1, c2, r2)
	}
	if c1 == r1 || !strings.HasPrefix(c1, "ck_") || !strings.HasPrefix(r1, "rk_") || len(c1) > 80 {
		t.Fatalf("derivedKeys = %q, %q; want distinct ck_/rk_ keys of at most 80 characters", c1, r1)
	}
	for _, other := range [][2]string{{"sess-b", "key-12345678"}, {"sess-a", "key-12345679"}, {"sess-ak", "ey-12345678"}} {
		if c, _ := derivedKeys(other[0], other[1]); c == c1 {
			t.Errorf("derivedKeys(%q, %q) = derivedKeys(sess-a, key-12345678)", other[0], other[1])
		}
	}
	a := checkoutRequest{HoldID: "h_1", PaymentMethod: "card_ok"}
	if a.hash() != (checkoutRequest{HoldID: "h_1", PaymentMethod: "card_ok"}).hash() {
		t.Error("the same request hashes differently")
	}
	for _, b := range []checkoutRequest{{HoldID: "h_2", PaymentMethod: "card_ok"}, {HoldID: "h_1", PaymentMethod: "card_ko"}, {HoldID: "h_1card", PaymentMethod: "_ok"}} {
		if a.hash() == b.hash() {
			t.Errorf("%+v and %+v hash alike", a, b)
		}
	}
}

// ckKeyStore exercises the key store's leases on the env's database: a live lease makes others
// wait, an expired one is taken over, and the execution that lost it can no longer write.
func ckKeyStore(t *testing.T, e *ckEnv) {
	ctx := context.Background()
	ks := &keyStore{db: e.db, now: e.clock.Now, lease: ckLease}
	session := e.sess("ks")
	req := checkoutRequest{HoldID: "h_keystore", PaymentMethod: "card_ok"}

	a, out, err := ks.begin(ctx, session, "ks-key-1", req)
	if err != nil || out != beginNew || a.Phase != phaseStarted || a.LeaseToken == "" || a.Attempts != 1 {
		t.Fatalf("begin new key = %+v, %v, %v; want beginNew at started with a lease", a, out, err)
	}
	if _, out, err := ks.begin(ctx, session, "ks-key-1", req); err != nil || out != beginBusy {
		t.Fatalf("begin while leased = %v, %v; want beginBusy", out, err)
	}
	if _, out, err := ks.begin(ctx, session, "ks-key-1", checkoutRequest{HoldID: "h_other", PaymentMethod: "card_ok"}); err != nil || out != beginConflict {
		t.Fatalf("begin with another request = %v, %v; want beginConflict", out, err)
	}

	e.clock.Advance(ckLease + time.Second)
	b, out, err := ks.begin(ctx, session, "ks-key-1", req)
	if err != nil || out != beginResume || b.LeaseToken == a.LeaseToken || b.Attempts != 2 || b.BookingID != a.BookingID || b.ProcessorKey != a.ProcessorKey {
		t.Fatalf("begin after the lease expired = %+v, %v, %v; want beginResume with a new lease, the same booking id and processor key", b, out, err)
	}
	// The first execution lost its lease: none of its writes land.
	a.Phase = phaseChargeRequested
	if err := ks.save(ctx, a); !errors.Is(err, errLeaseLost) {
		t.Fatalf("save by the execution that lost its lease: %v, want errLeaseLost", err)
	}
	if err := ks.finish(ctx, a); !errors.Is(err, errLeaseLost) {
		t.Fatalf("finish by the execution that lost its lease: %v, want errLeaseLost", err)
	}
	if err := ks.release(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := ks.load(ctx, session, "ks-key-1")
	if err != nil || got.Phase != phaseStarted || got.LeaseToken != b.LeaseToken {
		t.Fatalf("key after the stale writes = %+v, %v; want it untouched at started, owned by the second lease", got, err)
	}

	// The owner moves on; releasing lets the next request in at once, without waiting.
	b.Phase, b.EventID, b.AmountCents = phaseChargeRequested, "ev", 5000
	if err := ks.save(ctx, b); err != nil {
		t.Fatalf("save by the owner: %v", err)
	}
	if err := ks.release(ctx, b); err != nil {
		t.Fatal(err)
	}
	c, out, err := ks.begin(ctx, session, "ks-key-1", req)
	if err != nil || out != beginResume || c.Phase != phaseChargeRequested || c.AmountCents != 5000 {
		t.Fatalf("begin after a release = %+v, %v, %v; want beginResume at charge_requested", c, out, err)
	}

	// The completer sees keys idle past its threshold whose lease is free or expired.
	open, err := ks.abandoned(ctx, e.clock.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if containsKey(open, session, "ks-key-1") {
		t.Fatalf("abandoned lists a key whose lease is live: %v", open)
	}
	e.clock.Advance(ckLease + time.Second)
	if open, err = ks.abandoned(ctx, e.clock.Now().Add(time.Hour), 100); err != nil || !containsKey(open, session, "ks-key-1") {
		t.Fatalf("abandoned = %v, %v; want the key whose lease expired", open, err)
	}
	if open, err = ks.abandoned(ctx, e.clock.Now().Add(-time.Hour), 100); err != nil || containsKey(open, session, "ks-key-1") {
		t.Fatalf("abandoned with an idle threshold in the past = %v, %v; want the key left alone", open, err)
	}

	// Finished, the key replays, and the completer leaves it.
	d, out, err := ks.begin(ctx, session, "ks-key-1", req)
	if err != nil || out != beginResume {
		t.Fatalf("begin = %v, %v; want beginResume", out, err)
	}
	d.ResponseStatus, d.ResponseBody = 409, `{"error":{"code":"hold_expired","message":"m"}}`
	if err := ks.finish(ctx, d); err != nil {
		t.Fatal(err)
	}
	r, out, err := ks.begin(ctx, session, "ks-key-1", req)
	if err != nil || out != beginReplay || r.ResponseStatus != 409 || r.ResponseBody != d.ResponseBody {
		t.Fatalf("begin on a finished key = %+v, %v, %v; want beginReplay of the stored answer", r, out, err)
	}
	e.clock.Advance(ckLease + time.Second)
	if open, err = ks.abandoned(ctx, e.clock.Now().Add(time.Hour), 100); err != nil || containsKey(open, session, "ks-key-1") {
		t.Fatalf("abandoned = %v, %v; want no finished key", open, err)
	}
}

func containsKey(keys [][2]string, session, key string) bool {
	for _, k := range keys {
		if k == [2]string{session, key} {
			return true
		}
	}
	return false
}

func TestIdempotencyKeyFrom(t *testing.T) {
	tests := []struct {
		header  string
		wantErr error
	}{
		{header: "12345678"},
		{header: strings.Repeat("k", 128)},
		{header: "", wantErr: ErrMissingIdempotencyKey},
		{header: "1234567", wantErr: ErrInvalidIdempotencyKey},
		{header: strings.Repeat("k", 129), wantErr: ErrInvalidIdempotencyKey},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("len%d", len(tc.header)), func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			if tc.header != "" {
				r.Header.Set("Idempotency-Key", tc.header)
			}
			_, err := idempotencyKey(r)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("idempotencyKey(%d chars) = %v, want %v", len(tc.header), err, tc.wantErr)
			}
		})
	}
}
