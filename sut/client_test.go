package sut_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stampede/sut"
)

// fakeSystem answers the admin endpoints and the processor's ledger like a booking system and
// stampede's processor would, with a field the contract does not have.
func fakeSystem(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/ledger", func(w http.ResponseWriter, r *http.Request) {
		switch ev := r.URL.Query().Get("event"); ev {
		case "gone":
			http.Error(w, `{"error":{"code":"event_not_found","message":"no such event"}}`, http.StatusNotFound)
		case "garbled":
			w.Write([]byte(`{"event_id": 7`))
		case "many":
			w.Write([]byte(`[{"event_id":"a"},{"event_id":"b"}]`))
		case "error":
			w.Write([]byte(`{"error":{"code":"internal","message":"boom"}}`))
		default:
			w.Write([]byte(`{"event_id":"` + ev + `","bookings":[{"booking_id":"b1","hold_id":"h1","charge_id":"c1","amount_cents":5000,"seats":["A-1-1"]}],"extra":true}`))
		}
	})
	mux.HandleFunc("POST /admin/checkout/settle", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"resumed":2,"open":1}`))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("stampede_up 1\n"))
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"charges":[{"charge_id":"c1","idempotency_key":"k1","reference":"h1","amount_cents":5000,"status":"captured"}],"refunds":[]}`))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs
}

func TestServerClient(t *testing.T) {
	hs := fakeSystem(t)
	c := sut.Server{URL: hs.URL}
	ctx := context.Background()

	l, raw, err := c.Ledger(ctx, "ev-1")
	if err != nil {
		t.Fatalf("Ledger(ev-1): %v", err)
	}
	if l.EventID != "ev-1" || len(l.Bookings) != 1 || l.Bookings[0].ChargeID != "c1" || l.Bookings[0].AmountCents != 5000 {
		t.Errorf("Ledger(ev-1) = %+v, want event ev-1 with booking b1 charged c1 for 5000", l)
	}
	if !strings.Contains(string(raw), `"extra":true`) {
		t.Errorf("Ledger(ev-1) raw answer %s lost the field the contract does not have", raw)
	}

	tests := []struct {
		name, event, want string
	}{
		{"status", "gone", "fetch ledger of gone: GET " + hs.URL + "/admin/ledger?event=gone: 404 Not Found"},
		{"json", "garbled", "decode ledger of garbled"},
		{"several", "many", "2 ledgers in the answer, want one"},
		{"an error answer with 200", "error", "not a ledger but an error answer: internal boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.Ledger(ctx, tt.event)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Ledger(%s) = %v, want an error containing %q", tt.event, err, tt.want)
			}
			if errors.Is(err, sut.ErrNoLedger) {
				t.Errorf("Ledger(%s) = %v, which says the system has no ledger endpoint", tt.event, err)
			}
		})
	}
	// A system without the endpoint says so, whatever its 404 looks like.
	bare := httptest.NewServer(http.NotFoundHandler())
	defer bare.Close()
	if _, _, err := (sut.Server{URL: bare.URL}).Ledger(ctx, "e1"); !errors.Is(err, sut.ErrNoLedger) {
		t.Errorf("Ledger of a system without /admin/ledger = %v, want ErrNoLedger", err)
	}

	s, err := c.Settle(ctx)
	if err != nil || s != (sut.Settlement{Resumed: 2, Open: 1}) {
		t.Errorf("Settle = %+v, %v; want 2 resumed and 1 open", s, err)
	}
	m, err := c.Metrics(ctx)
	if err != nil || string(m) != "stampede_up 1\n" {
		t.Errorf("Metrics = %q, %v", m, err)
	}
}

func TestReadLedgers(t *testing.T) {
	hs := fakeSystem(t)
	got, err := sut.ReadLedgers(context.Background(), sut.Server{URL: hs.URL}, sut.Processor{URL: hs.URL}, []string{"a", "b"})
	if err != nil {
		t.Fatalf("ReadLedgers: %v", err)
	}
	if len(got.Server) != 2 || got.Server[0].EventID != "a" || got.Server[1].EventID != "b" || len(got.ServerJSON) != 2 {
		t.Errorf("server ledgers = %+v (%d answers), want a then b", got.Server, len(got.ServerJSON))
	}
	if got.PSP == nil || len(got.PSP.Charges) != 1 || got.PSP.Charges[0].IdempotencyKey != "k1" || len(got.PSPJSON) == 0 {
		t.Errorf("processor ledger = %+v, want the one charge with key k1", got.PSP)
	}
	if _, err := sut.ReadLedgers(context.Background(), sut.Server{URL: hs.URL}, sut.Processor{URL: hs.URL}, []string{"a", "gone"}); err == nil {
		t.Error("ReadLedgers with an event the system does not know = nil error")
	}
}
